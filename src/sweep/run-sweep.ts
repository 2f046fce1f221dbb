import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { AccountRepository } from '../accounts/repository.js';
import type { AccountChecker, CheckReport } from '../checks/account-checker.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { toError } from '../probes/errors.js';

export interface SweepDeps {
  repo: AccountRepository;
  checker: AccountChecker;
  metrics: Metrics;
  logger: Logger;
  clock?: () => Date;
}

export interface SweepOptions {
  /** Aborting cancels running checks (their results are not written). */
  signal: AbortSignal;
  /** Aborting stops new checks from starting; running ones finish (default: `signal`). */
  stopStarting?: AbortSignal;
  /** Global concurrency limit. */
  concurrency: number;
  /** Check only these accounts (default: every due account). */
  accountIds?: number[];
  /** This many of the accounts, picked at random, get a delivery round trip (default 0). */
  deliverySample?: number;
  /** Called after each account, for progress displays. */
  onResult?: (report: CheckReport | null, accountId: number) => void;
  /**
   * Keep every CheckReport in the summary (the CLI prints them). Off for the daemon: with
   * transcripts, a sweep of 100,000 accounts would hold hundreds of MB until it ends.
   */
  keepReports?: boolean;
}

export interface SweepSummary {
  startedAt: Date;
  finishedAt: Date;
  due: number;
  checked: number;
  ok: number;
  failed: number;
  timedOut: number;
  /** Checks that could not be run or written (database errors, cancellation). */
  errors: number;
  /** The recorded checks' reports, with `keepReports` only (else empty). */
  reports: CheckReport[];
}

const TIMEOUT_CODES = new Set(['deadline_exceeded', 'connect_timeout', 'greeting_timeout']);

/**
 * An account falling due within this many ms is checked in this sweep. Without it an account due
 * at the tick's exact instant (next due = previous sweep start + interval) misses the tick by a few
 * ms and waits a whole extra interval.
 */
export const DUE_SLACK_MS = 1_000;

/**
 * One pass over a list of accounts (`mailmon check`; default: every due, non-deleted account), each
 * checked once with bounded concurrency. The daemon does not use it: its claim loop
 * (sweep/claim-loop.ts) pulls due accounts as slots free up. Never throws for one account's trouble:
 * errors are logged and counted.
 */
export async function runSweep(deps: SweepDeps, options: SweepOptions): Promise<SweepSummary> {
  const clock = deps.clock ?? (() => new Date());
  const startedAt = clock();
  const ids =
    options.accountIds ?? (await deps.repo.listDueAccountIds(new Date(startedAt.getTime() + DUE_SLACK_MS)));
  const limit = pLimit(options.concurrency);
  const summary: SweepSummary = {
    startedAt,
    finishedAt: startedAt,
    due: ids.length,
    checked: 0,
    ok: 0,
    failed: 0,
    timedOut: 0,
    errors: 0,
    reports: [],
  };
  const sampled = pickSample(ids, options.deliverySample ?? 0);
  const stopStarting = options.stopStarting ?? options.signal;
  // Every running check and waiting start listens on these signals: many listeners are expected,
  // not a leak, so lift Node's warning threshold (default 10) to what the sweep can hold.
  setMaxListeners(Math.max(ids.length, options.concurrency) * 4 + 10, options.signal, stopStarting);

  await Promise.all(
    ids.map(async (id) => {
      try {
        const report = await limit(() => {
          // Checks still queued when shutdown begins are not started.
          if (stopStarting.aborted) return null;
          return deps.checker.check(id, {
            signal: options.signal,
            dueFrom: startedAt,
            deliverySample: sampled.has(id),
          });
        });
        tally(summary, report, options.keepReports ?? false);
        options.onResult?.(report, id);
      } catch (thrown) {
        // A start cancelled by shutdown is not an error; anything else (a database error while the
        // drain lets running checks write) is logged and counted like at any other time.
        if (stopStarting.aborted && toError(thrown).name === 'AbortError') return;
        summary.errors += 1;
        deps.metrics.incDatabaseErrors();
        deps.logger.error(
          { err: toError(thrown), accountId: id },
          `check of account ${id} could not be completed`,
        );
        options.onResult?.(null, id);
      }
    }),
  );

  summary.finishedAt = clock();
  return summary;
}

/** `n` distinct ids picked uniformly at random (partial Fisher-Yates). */
export function pickSample(ids: readonly number[], n: number): Set<number> {
  if (n <= 0) return new Set();
  if (n >= ids.length) return new Set(ids);
  const pool = [...ids];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return new Set(pool.slice(0, n));
}

function tally(summary: SweepSummary, report: CheckReport | null, keep: boolean): void {
  if (report === null || report.recorded === null) return;
  if (keep) summary.reports.push(report);
  summary.checked += 1;
  if (report.outcome.ok) summary.ok += 1;
  else summary.failed += 1;
  if (report.results.some((r) => r.code !== null && TIMEOUT_CODES.has(r.code))) summary.timedOut += 1;
}
