// When an account is due again: the one place the checker decides it, handed to the record (and so
// to the next claim). Pure, so other rules (a backoff after failures) can extend it with tests.

export interface NextDueInput {
  /** When the account was due for this check (ms, database clock); a manual test uses now. */
  dueAt: number;
  /** Now, ms, on the same clock as dueAt. */
  now: number;
  intervalMs: number;
}

/**
 * One interval after the check's due time, so a late claim (a busy fleet, a late tick) does not push
 * every later check back: the account keeps its place in the schedule and lateness never adds up.
 * An account overdue by more than an interval (the fleet was down) starts over one interval from now
 * instead of being checked again at once.
 */
export function nextDueAt({ dueAt, now, intervalMs }: NextDueInput): number {
  const anchor = Math.min(dueAt, now);
  const next = anchor + intervalMs;
  return next > now ? next : now + intervalMs;
}
