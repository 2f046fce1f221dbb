import { failureResult } from '../probes/context.js';
import { ProbeError, toError } from '../probes/errors.js';
import type { Probe, ProbeOptions, ProbeResult, ProbeTarget } from '../probes/types.js';

/** Extra time a probe gets past its own deadline before the watchdog gives up on it. */
export const WATCHDOG_GRACE_MS = 1000;

/**
 * Runs a probe with a hard deadline. Probes enforce `timeoutMs` themselves; this watchdog is the
 * backstop that keeps one hung probe (a library bug, a swallowed abort) from stalling a sweep: it
 * aborts the probe's signal and answers deadline_exceeded. Its failures are built like any failure
 * outside a probe run (failureResult: formatted reason, secret scrubbed).
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
  const failure = (error: ProbeError): ProbeResult =>
    failureResult(target, error, performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('check deadline exceeded'));
      resolve(failure(new ProbeError('deadline_exceeded', 'connect', 'deadline exceeded')));
    }, options.timeoutMs + WATCHDOG_GRACE_MS);
  });
  try {
    const running = probe.run(target, { ...options, signal: controller.signal }).catch((thrown: unknown) => {
      // Probes should never throw; if one does, keep the error as the cause and classify it.
      const error = toError(thrown);
      return failure(
        error instanceof ProbeError
          ? error
          : new ProbeError('internal_error', 'connect', 'the probe failed unexpectedly; see the log', {
              cause: error,
            }),
      );
    });
    return await Promise.race([running, watchdog]);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onOuterAbort);
  }
}
