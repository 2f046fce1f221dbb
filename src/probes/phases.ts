// Per-phase timing: a phase lasts from when it is entered until the next one is entered (or the
// check ends). A phase may be entered more than once (capability before and after STARTTLS).
import type { Phase } from './errors.js';
import type { PhaseTiming } from './types.js';

export interface PhaseClock {
  /** Start `phase` now; a no-op when it is already the current phase. */
  enter(phase: Phase): void;
  current(): Phase;
  /** Whether `phase` was entered at any point. */
  reached(phase: Phase): boolean;
  /** Milliseconds since the check started. */
  elapsed(): number;
  /** Timings so far, the open phase measured up to now; rounded to 0.1 ms. */
  timings(): PhaseTiming[];
}

export function createPhaseClock(now: () => number, first: Phase): PhaseClock {
  const start = now();
  const done: PhaseTiming[] = [];
  let current = first;
  let since = start;
  const round = (ms: number): number => Math.round(ms * 10) / 10;

  return {
    enter(phase) {
      if (phase === current) return;
      const t = now();
      done.push({ phase: current, ms: round(t - since) });
      current = phase;
      since = t;
    },
    current: () => current,
    reached: (phase) => phase === current || done.some((p) => p.phase === phase),
    elapsed: () => now() - start,
    timings: () => [...done, { phase: current, ms: round(now() - since) }],
  };
}
