import { ProbeError, toError } from '../probes/errors.js';
import type { Probe, ProbeOptions, ProbeResult, ProbeTarget } from '../probes/types.js';

/** Extra time a probe gets past its own deadline before the watchdog gives up on it. */
export const WATCHDOG_GRACE_MS = 1000;

/**
 * Runs a probe with a hard deadline. Probes enforce `timeoutMs` themselves; this watchdog is the
 * backstop that keeps one hung probe (a library bug, a swallowed abort) from stalling a sweep: it
 * aborts the probe's signal and answers deadline_exceeded.
 */
export async function runProbeWithDeadline(
  probe: Probe,
  target: ProbeTarget,
  options: ProbeOptions,
): Promise<ProbeResult> {
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal.reason);
  options.signal.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal.aborted) controller.abort(options.signal.reason);
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('check deadline exceeded'));
      resolve(failure(target, 'deadline exceeded', started));
    }, options.timeoutMs + WATCHDOG_GRACE_MS);
  });
  try {
    const running = probe.run(target, { ...options, signal: controller.signal }).catch((thrown: unknown) => {
      // Probes should never throw; if one does, keep the error as the cause and classify it.
      const error = toError(thrown);
      const result = failure(target, 'internal error', started);
      return error instanceof ProbeError
        ? { ...result, code: error.code, phase: error.phase, reason: error.message, cause: error }
        : { ...result, code: 'internal_error' as const, cause: error };
    });
    return await Promise.race([running, watchdog]);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onOuterAbort);
  }
}

function failure(target: ProbeTarget, what: string, started: number): ProbeResult {
  const side = target.protocol.toUpperCase();
  return {
    protocol: target.protocol,
    ok: false,
    code: 'deadline_exceeded',
    phase: 'connect',
    reason: `${side} check ${what} (${target.host}:${target.port})`,
    durationMs: performance.now() - started,
    phases: [],
    transcript: [],
  };
}
