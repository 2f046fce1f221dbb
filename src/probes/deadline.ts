// One deadline per check: every phase (DNS, TCP, TLS, greeting, auth, ...) draws from the same
// budget, and the caller's AbortSignal ends it early. Its timer and listener are released by
// dispose(), which the probe calls in `finally`.

/** Why a check's deadline ended it. */
export type DeadlineEnd = 'timeout' | 'aborted';

/** Raised by Deadline.race() when the deadline passes or the caller aborts. */
export class DeadlineError extends Error {
  readonly end: DeadlineEnd;
  constructor(end: DeadlineEnd, timeoutMs: number) {
    super(end === 'timeout' ? `deadline of ${timeoutMs} ms exceeded` : 'check aborted by the caller');
    this.name = 'DeadlineError';
    this.end = end;
  }
}

export interface Deadline {
  /** Aborts when the deadline passes or the caller aborts; hand it to anything cancellable. */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Milliseconds left, never negative. */
  remaining(): number;
  /** How the deadline ended, or null while it is running. */
  ended(): DeadlineEnd | null;
  /**
   * Settles like `work`, or rejects with DeadlineError as soon as the deadline ends. A `work`
   * that settles later is observed, so its rejection is never reported as unhandled.
   */
  race<T>(work: Promise<T>): Promise<T>;
  /** Run `fn` once when the deadline ends (e.g. destroy the connection). Runs before race() rejects. */
  onEnd(fn: () => void): void;
  /** Clear the timer and the listener on the caller's signal. Idempotent. */
  dispose(): void;
}

export function startDeadline(timeoutMs: number, parent: AbortSignal, now: () => number): Deadline {
  const startedAt = now();
  const controller = new AbortController();
  const cleanups: Array<() => void> = [];
  let end: DeadlineEnd | null = null;

  const finish = (how: DeadlineEnd): void => {
    if (end !== null) return;
    end = how;
    clearTimeout(timer);
    // Cleanups first, so the connection is torn down before anyone awaiting race() resumes.
    for (const fn of cleanups.splice(0)) {
      try {
        fn();
      } catch {
        // a failing cleanup must not stop the others
      }
    }
    controller.abort(new DeadlineError(how, timeoutMs));
  };
  const onParentAbort = (): void => finish('aborted');
  const timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
  if (parent.aborted) finish('aborted');
  else parent.addEventListener('abort', onParentAbort, { once: true });

  return {
    signal: controller.signal,
    timeoutMs,
    remaining: () => Math.max(0, timeoutMs - (now() - startedAt)),
    ended: () => end,
    race<T>(work: Promise<T>): Promise<T> {
      work.catch(() => undefined);
      if (end !== null) return Promise.reject(new DeadlineError(end, timeoutMs));
      return new Promise<T>((resolve, reject) => {
        const onAbort = (): void => reject(new DeadlineError(end ?? 'aborted', timeoutMs));
        controller.signal.addEventListener('abort', onAbort, { once: true });
        work.then(
          (value) => {
            controller.signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (err: unknown) => {
            controller.signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        );
      });
    },
    onEnd(fn) {
      if (end !== null) fn();
      else cleanups.push(fn);
    },
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
      cleanups.length = 0;
    },
  };
}
