// The checker's side of the leases (db/sweep-store.ts): a manual test claims the account like the
// claim loop does, so a manual test racing a scheduled check gives one check and one record; a
// result that lost its fence is counted; an account whose claims kept dying is recorded as failed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountRepository, SideCheck } from '../accounts/repository.js';
import { combineResults } from '../accounts/status.js';
import { AccountStatus } from '../accounts/types.js';
import type { Claim, SweepStore } from '../db/sweep-store.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { failureResult } from '../probes/context.js';
import { ProbeError } from '../probes/errors.js';
import type { ProbeResult, ProbeTarget } from '../probes/types.js';
import type { CheckReport } from './account-checker.js';

/** How often a manual test polls a lease another replica holds. */
const AWAIT_POLL_MS = 200;

export interface CheckLeasesOptions {
  store: SweepStore;
  repo: Pick<AccountRepository, 'getAccount' | 'lastChecks'>;
  metrics: Pick<Metrics, 'replica'>;
  logger: Logger;
  /** This replica's id (lease_owner). */
  owner: string;
  leaseMs: number;
  /** How long a manual test waits for another replica's check of the same account, ms. */
  awaitMs: number;
}

export class CheckLeases {
  constructor(private readonly options: CheckLeasesOptions) {}

  get owner(): string {
    return this.options.owner;
  }

  get store(): SweepStore {
    return this.options.store;
  }

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  async claimOne(accountId: number): Promise<Claim | null> {
    const { store, owner, leaseMs, metrics } = this.options;
    const end = metrics.replica.claimDuration.startTimer();
    const claim = await store.claimOne(accountId, owner, leaseMs);
    end();
    if (claim) metrics.replica.claims.inc();
    return claim;
  }

  async release(claim: Claim): Promise<void> {
    await this.options.store.release([claim]);
  }

  /** A fenced write changed nothing: say why, in a counter and at debug level. */
  async dropped(claim: Claim): Promise<void> {
    const { store, metrics, logger } = this.options;
    const reason = await store.fenceFailure(claim);
    metrics.replica.dropped.inc({ reason });
    if (reason === 'lease_lost') metrics.replica.leaseLost.inc();
    logger.debug(
      { accountId: claim.accountId, reason },
      `result of account ${claim.accountId} dropped: ${reason}`,
    );
  }

  /**
   * Another replica holds the account: wait (bounded) for it to record, then report what it stored.
   * Null when the account is gone or the wait was cancelled.
   */
  async awaitOther(accountId: number, signal: AbortSignal): Promise<CheckReport | null> {
    const { store, repo, awaitMs } = this.options;
    const until = performance.now() + awaitMs;
    try {
      while (performance.now() < until && (await store.leaseHeld(accountId)))
        await sleep(AWAIT_POLL_MS, undefined, { signal });
    } catch {
      return null; // cancelled
    }
    const account = await repo.getAccount(accountId);
    if (account === null || account.accountStatus === AccountStatus.Deleted) return null;
    const results = (await repo.lastChecks(accountId)).map(storedResult);
    const state = {
      status: account.accountStatus,
      errorCount: account.errorCount,
      errorReason: account.errorReason,
    };
    return {
      accountId,
      results,
      outcome: combineResults(results),
      recorded: { before: state, after: state },
    };
  }
}

/** A stored last result as the ProbeResult it was recorded from (without the live error cause). */
function storedResult(side: SideCheck): ProbeResult {
  return {
    protocol: side.side,
    ok: side.ok,
    code: side.code,
    phase: side.phase,
    reason: side.reason,
    durationMs: side.durationMs,
    phases: side.details?.phases ?? [],
    transcript: side.details?.transcript ?? [],
    ...(side.details?.tls ? { tls: side.details.tls } : {}),
  };
}

/** check_abandoned on every side: the account's last `attempts - 1` claims ended without a result. */
export function abandonedResults(targets: readonly ProbeTarget[], attempts: number): ProbeResult[] {
  const detail = `${Math.max(1, attempts - 1)} claims of this account ended without a result (a replica died checking it); not checked this time`;
  return targets.map((target) => failureResult(target, new ProbeError('check_abandoned', 'connect', detail)));
}
