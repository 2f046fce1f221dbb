import { failureResult } from '../probes/context.js';
import { startDeadline } from '../probes/deadline.js';
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
  const started = performance.now();
  const deadline = startDeadline(options.timeoutMs + WATCHDOG_GRACE_MS, options.signal, () =>
    performance.now(),
  );
  const failure = (error: ProbeError): ProbeResult =>
    failureResult(target, error, performance.now() - started);
  let backstop: NodeJS.Timeout | undefined;
  const watchdog = new Promise<ProbeResult>((resolve) => {
    const give = () => resolve(failure(new ProbeError('deadline_exceeded', 'connect', 'deadline exceeded')));
    deadline.onEnd(() => {
      // The caller's abort reaches the probe through the deadline's signal and the probe winds down
      // on its own; should it hang anyway, the watchdog still answers at the original deadline.
      if (deadline.ended() === 'timeout') give();
      else backstop = setTimeout(give, deadline.remaining());
    });
  });
  try {
    const running = probe.run(target, { ...options, signal: deadline.signal }).catch((thrown: unknown) => {
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
    clearTimeout(backstop);
    deadline.dispose();
  }
}
