import { LIMITS } from '../config/schema.js';
import type { ProbeResult } from '../probes/types.js';
import { AccountStatus } from './types.js';

/** The combined result of one check of an account (both sides must pass). */
export interface CheckOutcome {
  ok: boolean;
  /** ErrorReason: which side failed and why; on success null, or the sides' warnings. */
  reason: string | null;
}

export interface StatusState {
  status: AccountStatus;
  errorCount: number;
  errorReason: string;
}

const SIDE_NAMES = { imap: 'IMAP', smtp: 'SMTP' } as const;

/**
 * Combines the per-side probe results into one outcome. The reason names each failing side, e.g.
 * "IMAP: login rejected: AUTHENTICATIONFAILED", and fits ErrorReason's 254 characters.
 */
export function combineResults(results: readonly ProbeResult[]): CheckOutcome {
  const failures = results.filter((r) => !r.ok);
  if (failures.length === 0) {
    // All sides work, yet a warning (mailbox nearly full, probe in Junk) is worth the ErrorReason.
    const warnings = results.flatMap((r) => (r.warning ? [sideReason(r.protocol, r.warning.reason)] : []));
    return {
      ok: true,
      reason: warnings.length > 0 ? truncate(warnings.join('; '), LIMITS.errorReasonLength) : null,
    };
  }
  const parts = failures.map((r) => sideReason(r.protocol, r.reason ?? r.code ?? 'failed'));
  return { ok: false, reason: truncate(parts.join('; '), LIMITS.errorReasonLength) };
}

function sideReason(protocol: ProbeResult['protocol'], reason: string): string {
  const side = SIDE_NAMES[protocol];
  return reason.startsWith(side) ? reason : `${side}: ${reason}`;
}

/**
 * The status rules, as a pure function: the only place they are written. The repository applies it
 * inside the result's transaction, after taking the account row's write lock, so concurrent writers
 * never lose an increment (see db/check-store.ts).
 */
export function nextStatus(
  previous: StatusState,
  outcome: CheckOutcome,
  failedThreshold: number,
): StatusState {
  if (previous.status === AccountStatus.Deleted) return previous;
  if (outcome.ok) return { status: AccountStatus.Ok, errorCount: 0, errorReason: outcome.reason ?? '' };
  const errorCount = previous.errorCount + 1;
  return {
    status: errorCount >= failedThreshold ? AccountStatus.Failed : AccountStatus.Failing,
    errorCount,
    errorReason: truncate(outcome.reason ?? 'check failed', LIMITS.errorReasonLength),
  };
}

/** A status change worth a log line (Ok→Failing, Failing→Failed, Failed→Ok, ...), or null. */
export function transitionOf(before: AccountStatus, after: AccountStatus): string | null {
  if (before === after) return null;
  return `${AccountStatus[before]}→${AccountStatus[after]}`;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
