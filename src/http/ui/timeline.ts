// An account's history as runs of Ok and failing checks, newest first, and the sentence that sums it
// up ("Failing since Tuesday 14:02 after 212 days Ok"). Pure: history in, runs out.
import type { HistoryEntry } from '../../accounts/repository.js';
import type { FailureCode } from '../../probes/errors.js';
import { duration, shortTime } from './format.js';

export interface Run {
  ok: boolean;
  /** The run's first and last check. */
  from: Date;
  to: Date;
  checks: number;
  /** Failure codes seen in the run (failing runs), in order of first appearance. */
  codes: FailureCode[];
  /** The run reaches the oldest check kept: it may have begun earlier. */
  open: boolean;
}

/**
 * Groups history rows (one per side and check, newest first) into checks (the sides of one check
 * share its time; a check is Ok when every side was), then into runs of equal outcome.
 */
export function toRuns(entries: readonly HistoryEntry[]): Run[] {
  const checks: { at: Date; ok: boolean; codes: FailureCode[] }[] = [];
  for (const entry of entries) {
    const last = checks.at(-1);
    if (last !== undefined && last.at.getTime() === entry.checkedAt.getTime()) {
      last.ok &&= entry.ok;
      if (entry.code !== null) last.codes.push(entry.code);
    } else {
      checks.push({ at: entry.checkedAt, ok: entry.ok, codes: entry.code === null ? [] : [entry.code] });
    }
  }
  const runs: Run[] = [];
  for (const check of checks) {
    const run = runs.at(-1);
    if (run !== undefined && run.ok === check.ok) {
      run.from = check.at; // going back in time
      run.checks += 1;
      for (const code of check.codes) if (!run.codes.includes(code)) run.codes.push(code);
    } else {
      runs.push({
        ok: check.ok,
        from: check.at,
        to: check.at,
        checks: 1,
        codes: [...new Set(check.codes)],
        open: false,
      });
    }
  }
  const oldest = runs.at(-1);
  if (oldest !== undefined) oldest.open = true;
  return runs;
}

/** "Failing since Tuesday 14:02 after 212 days Ok", "Ok since ... after 3 hours failing", "No checks yet". */
export function summarise(runs: readonly Run[], now: Date): string {
  const [current, previous] = runs;
  if (current === undefined) return 'No checks kept in history yet';
  const since = `${current.ok ? 'Ok' : 'Failing'} since ${shortTime(current.from, now)}`;
  if (previous === undefined)
    return current.ok ? since : `${since} (no successful check in the history kept)`;
  // The previous run lasted from its first check until the current run began.
  const lasted = duration(current.from.getTime() - previous.from.getTime());
  return `${since} after ${previous.open ? 'at least ' : ''}${lasted} ${previous.ok ? 'Ok' : 'failing'}`;
}
