// The pull loop of one replica: claim as many due accounts as there are free check slots, check them,
// claim again as slots free up; renew the leases of running checks; on stop, claim nothing more,
// let running checks finish (bounded by the drain timeout) and give back what is cancelled.
// Lateness costs nothing: an account is claimed as soon as it is due (within one poll) and its next
// due time is counted from when it was due, not from when it ran (checks/next-due.ts).
import { setMaxListeners } from 'node:events';
import type { AccountChecker } from '../checks/account-checker.js';
import type { CheckLeases } from '../checks/check-leases.js';
import type { Claim } from '../db/sweep-store.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { toError } from '../probes/errors.js';
import type { DeliverySampler } from './delivery-sampler.js';

export interface ClaimLoopConfig {
  /** Checks run at once by this replica. */
  concurrency: number;
  /** How long a claim holds an account without renewal, ms. */
  leaseMs: number;
  /** Idle wait between claims when nothing was due, ms. */
  pollMs: number;
  /** A claim with more attempts than this is recorded as check_abandoned instead of checked. */
  maxClaimAttempts: number;
  /** On stop, running checks get this long before they are aborted, ms. */
  drainTimeoutMs: number;
}

export interface ClaimLoopDeps {
  checker: AccountChecker;
  leases: CheckLeases;
  metrics: Metrics;
  logger: Logger;
  /** Picks the checks that also get a delivery round trip (delivery.samplePerSweep); none without. */
  deliverySampler?: DeliverySampler;
}

export class ClaimLoop {
  private readonly running = new Map<number, { claim: Claim; done: Promise<void> }>();
  private readonly controller = new AbortController();
  private loop: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  /** Called after every claim round that checked something (for the health endpoint). */
  onRound: ((at: Date) => void) | null = null;

  constructor(
    private readonly deps: ClaimLoopDeps,
    private readonly config: ClaimLoopConfig,
  ) {
    setMaxListeners(config.concurrency * 4 + 10, this.controller.signal);
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  start(): void {
    if (this.loop !== null || this.stopping !== null) return;
    this.loop = this.run();
    this.renewTimer = setInterval(() => void this.renew(), Math.max(1000, this.config.leaseMs / 3));
    this.renewTimer.unref();
  }

  private async run(): Promise<void> {
    const { leases, metrics, logger } = this.deps;
    while (this.stopping === null) {
      const free = this.config.concurrency - this.running.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const startedAt = new Date();
          const end = metrics.replica.claimDuration.startTimer();
          const claims = await leases.store.claimDue(leases.owner, free, leases.leaseMs);
          end();
          claimed = claims.length;
          metrics.replica.claims.inc(claimed);
          // Claimed while stop() began: hand them back at once instead of starting them.
          if (this.stopping !== null) await leases.store.release(claims);
          else for (const claim of claims) this.startCheck(claim);
          // The loop is alive and the database answers: what MailmonStale watches (a round here is
          // one claim, where a cron sweep used to be one pass over every due account).
          metrics.recordSweep({ startedAt, finishedAt: new Date(), checked: claimed, timedOut: 0 });
          this.onRound?.(new Date());
        } catch (thrown) {
          metrics.incDatabaseErrors();
          logger.error({ err: toError(thrown) }, 'claiming due accounts failed; retrying');
        }
      }
      // A full claim may have left more due: claim again when a slot frees; else wait a poll.
      await this.sleep(claimed === free && free > 0 ? 0 : this.config.pollMs, free <= 0 || claimed === free);
    }
  }

  private startCheck(claim: Claim): void {
    const { checker, logger, metrics } = this.deps;
    const abandon = claim.attempts > this.config.maxClaimAttempts;
    if (abandon) metrics.replica.abandoned.inc();
    const done = checker
      .check(claim.accountId, {
        signal: this.controller.signal,
        claim,
        abandon,
        deliverySample: !abandon && (this.deps.deliverySampler?.take() ?? false),
      })
      .then(
        () => undefined,
        (thrown: unknown) => {
          metrics.incDatabaseErrors();
          logger.error(
            { err: toError(thrown), accountId: claim.accountId },
            `check of account ${claim.accountId} could not be completed`,
          );
        },
      )
      .finally(() => {
        this.running.delete(claim.accountId);
        this.wake?.();
      });
    this.running.set(claim.accountId, { claim, done });
  }

  /** Waits `ms`, or (with `untilSlot`) until a running check ends, or until stop() begins. */
  private sleep(ms: number, untilSlot: boolean): Promise<void> {
    if (ms === 0 && !untilSlot) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      if (!(untilSlot && ms === 0)) timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async renew(): Promise<void> {
    const claims = [...this.running.values()].map((r) => r.claim);
    if (claims.length === 0) return;
    try {
      await this.deps.leases.store.renew(claims, this.config.leaseMs);
    } catch (thrown) {
      this.deps.metrics.incDatabaseErrors();
      this.deps.logger.warn({ err: toError(thrown) }, 'renewing leases failed; they may lapse');
    }
  }

  /** Idempotent: concurrent callers share one shutdown. */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.wake?.();
    await this.loop;
    const timer = setTimeout(
      () => this.controller.abort(new Error('shutdown drain timeout')),
      this.config.drainTimeoutMs,
    );
    try {
      // Renewals keep the leases of draining checks alive; aborted checks release theirs.
      await Promise.all([...this.running.values()].map((r) => r.done));
    } finally {
      clearTimeout(timer);
      if (this.renewTimer) clearInterval(this.renewTimer);
    }
  }

  /** Abort running checks now (the second signal); they write nothing and release their claims. */
  abort(): void {
    this.controller.abort(new Error('forced shutdown'));
  }
}
