// When an account is due again: the one place the checker decides it, handed to the record (and so
// to the next claim). Pure, so the rules (the normal interval, the backoff after credential
// failures, the per-host slow-down) are table-tested here and the README's numbers derive from it.
import { isCredentialFailure, PHASES, type FailureCode, type Phase } from '../probes/errors.js';

/** The defaults the README's lockout guarantee is stated for (config: scheduler.*). */
export const DEFAULT_SCHEDULE = {
  intervalMs: 300_000,
  maxBackoffMs: 24 * 3_600_000,
  /** A host is slowed down after this many refused logins in a row, across accounts. */
  hostRefusalsBeforeBackoff: 10,
} as const;

export interface NextDueInput {
  /** When the account was due for this check (ms, database clock); a manual test uses now. */
  dueAt: number;
  /** Now, ms, on the same clock as dueAt. */
  now: number;
  intervalMs: number;
  /** Checks in a row, this one included, that ended in a credential failure (0: none). */
  authFailures?: number;
  /** The longest wait a backoff may reach, ms (scheduler.authBackoffMaxHours). */
  maxBackoffMs?: number;
  /** The host's own backoff step (hostBackoffStep), when one of the account's hosts is slowed down. */
  hostStep?: number;
}

/**
 * How long after its due time the account's next check comes: the interval, doubled for every
 * credential failure in a row after the first (1, 2, 4 … × the interval) or for every step of its
 * host's backoff, whichever is longer, and never more than the maximum (nor less than the interval).
 */
export function waitMs({
  intervalMs,
  authFailures = 0,
  maxBackoffMs = DEFAULT_SCHEDULE.maxBackoffMs,
  hostStep = 0,
}: Omit<NextDueInput, 'dueAt' | 'now'>): number {
  const doublings = Math.max(authFailures - 1, hostStep, 0);
  if (doublings === 0) return intervalMs;
  // Capped before multiplying: 2 ** 1000 is Infinity, and the cap is what counts anyway.
  const cap = Math.max(intervalMs, maxBackoffMs);
  return Math.min(cap, intervalMs * 2 ** Math.min(doublings, 40));
}

/**
 * One wait after the check's due time, so a late claim (a busy fleet, a late tick) does not push
 * every later check back: the account keeps its place in the schedule and lateness never adds up.
 * An account overdue by more than a wait (the fleet was down) starts over one wait from now instead
 * of being checked again at once.
 */
export function nextDueAt(input: NextDueInput): number {
  const { dueAt, now } = input;
  const wait = waitMs(input);
  const anchor = Math.min(dueAt, now);
  const next = anchor + wait;
  return next > now ? next : now + wait;
}

/** One side's result, as far as the backoff cares. */
export interface SideVerdict {
  ok: boolean;
  code: FailureCode | null;
  phase: Phase | null;
}

/** Phases after the login: a failure there proves the credentials were accepted. */
const AFTER_LOGIN: ReadonlySet<Phase> = new Set<Phase>(PHASES.slice(PHASES.indexOf('auth') + 1));

/** True when a side that failed in `phase` had logged in first. */
export function failedAfterLogin(phase: Phase | null): boolean {
  return phase !== null && AFTER_LOGIN.has(phase);
}

/**
 * The account's credential failures in a row after this check: one more when a side's credentials
 * were refused; unchanged when the check never reached a login (network, TLS: the next check keeps
 * the normal interval, yet the count is not forgotten); 0 once every side's login went through.
 */
export function nextAuthFailures(previous: number, sides: readonly SideVerdict[]): number {
  if (sides.some((s) => !s.ok && isCredentialFailure(s.code))) return previous + 1;
  const loginUnproven = sides.some((s) => !s.ok && !failedAfterLogin(s.phase));
  return loginUnproven ? previous : 0;
}

/** The credential failure of this check (the first side's), shown with the backoff. */
export function backoffCode(sides: readonly SideVerdict[]): FailureCode | null {
  return sides.find((s) => !s.ok && isCredentialFailure(s.code))?.code ?? null;
}

/** A host's backoff step after `refusals` refused logins in a row: 1 from `threshold`, 2 from 2×, … */
export function hostBackoffStep(refusals: number, threshold: number): number {
  return threshold > 0 ? Math.floor(refusals / threshold) : 0;
}

/**
 * The login attempts one side makes with a wrong password over `windowMs`, starting with the first
 * failed check at 0 and following nextDueAt with no lateness: what the README's guarantee states.
 */
export function loginAttemptsWithin(
  windowMs: number,
  schedule: { intervalMs: number; maxBackoffMs: number } = DEFAULT_SCHEDULE,
): number {
  let attempts = 0;
  let failures = 0;
  for (let at = 0; at < windowMs;) {
    attempts++;
    failures++;
    at = nextDueAt({ dueAt: at, now: at, ...schedule, authFailures: failures });
  }
  return attempts;
}
