// The leader's per-account export. One replica at a time (the holder of the leader lease) exports
// the per-account series and `mailmon_accounts{status}`, from the database, so they never flap
// between replicas and `sum without (instance)` of everything else is right.
//
// Cheap by construction: the database is read in full once, when the lease is gained; after that
// the leader's own results arrive through the CheckObserver as they are recorded, and each
// heartbeat reads only the rows changed since its last look (by `updated`, indexed by migration
// 009) plus one small page of a slow resync in id order (which repairs what a change scan could
// miss: a writer whose clock is further behind than the overlap, an account removed outright).
import type { AccountRepository } from '../accounts/repository.js';
import { AccountStatus } from '../accounts/types.js';
import type { AccountView, AccountViewStore, ChangeCursor } from '../db/account-view-store.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Protocol } from '../probes/types.js';

const PROTOCOLS: readonly Protocol[] = ['imap', 'smtp'];

export interface AccountFeedConfig {
  /** Rows per query, for the load and the change scan. */
  pageSize: number;
  /** Change-scan pages per heartbeat at most; the rest waits for the next beat. */
  maxPagesPerPoll: number;
  /** Accounts re-read per heartbeat by the resync. */
  resyncPageSize: number;
  /**
   * Each change scan starts this long before the previous one did: a check's `updated` is taken
   * on its replica's clock before its transaction commits, so a row can appear "in the past".
   */
  overlapMs: number;
}

export interface AccountFeedDeps {
  views: Pick<AccountViewStore, 'page' | 'changedSince'>;
  repo: Pick<AccountRepository, 'statusCounts' | 'backingOffCounts'>;
  metrics: Metrics;
  logger: Logger;
}

/**
 * The overlap covers a result's time-to-commit (a batch writer holds results a few hundred ms), not
 * clock skew between replicas, which the resync repairs: every row it re-reads at each beat costs
 * the database, and a 30 s overlap at a 1 s heartbeat re-read every recent result thirty times.
 */
export const ACCOUNT_FEED_DEFAULTS: AccountFeedConfig = {
  pageSize: 1_000,
  maxPagesPerPoll: 50,
  resyncPageSize: 100,
  overlapMs: 5_000,
};

export class AccountFeed {
  private active = false;
  /** The next change scan reads rows with `updated` from here. */
  private scanFrom = 0;
  /** A change scan that did not finish within its pages goes on from here at the next beat. */
  private cursor: ChangeCursor | null = null;
  private scanStartedAt = 0;
  /** The resync's position: ids above this come next. */
  private resyncAfter = 0;

  constructor(
    private readonly deps: AccountFeedDeps,
    private readonly config: AccountFeedConfig = ACCOUNT_FEED_DEFAULTS,
  ) {}

  get exporting(): boolean {
    return this.active;
  }

  /**
   * Gained the lease: read every account (pages by id), then switch the export on and set them all
   * at once, so no scrape sees a half-loaded or zeroed export. Returns the accounts loaded.
   */
  async gain(dbNow: number): Promise<number> {
    const { views, repo, metrics, config } = { ...this.deps, config: this.config };
    const loaded: AccountView[] = [];
    for (let after = 0; ;) {
      const page = await views.page(after, config.pageSize);
      loaded.push(...page);
      if (page.length < config.pageSize) break;
      after = (page.at(-1) as AccountView).id;
    }
    const counts = await repo.statusCounts();
    const backingOff = await repo.backingOffCounts();
    metrics.setAccountExport(true);
    for (const view of loaded) apply(metrics, view);
    metrics.setStatusCounts(counts);
    metrics.setBackingOff(backingOff);
    this.active = true;
    // Whatever changed while the pages were read (this replica's own checks included, which were
    // not exported yet) is in the first change scan.
    this.scanFrom = dbNow - config.overlapMs;
    this.cursor = null;
    this.resyncAfter = 0;
    return loaded.length;
  }

  /** Lost (or never held) the lease: export no per-account series and no status counts. */
  drop(): void {
    this.active = false;
    this.deps.metrics.setAccountExport(false);
  }

  /** One heartbeat of the leader: changed rows, one resync page, the status counts. */
  async poll(dbNow: number): Promise<void> {
    if (!this.active) return;
    const { views, repo, metrics } = this.deps;
    const { pageSize, maxPagesPerPoll, resyncPageSize, overlapMs } = this.config;
    if (this.cursor === null) {
      this.cursor = { updated: this.scanFrom, id: 0 };
      this.scanStartedAt = dbNow;
    }
    for (let pages = 0; pages < maxPagesPerPoll; pages++) {
      const page = await views.changedSince(this.cursor, pageSize);
      for (const view of page) apply(metrics, view);
      const last = page.at(-1);
      if (last) this.cursor = { updated: last.updated, id: last.id };
      if (page.length < pageSize) {
        this.scanFrom = this.scanStartedAt - overlapMs;
        this.cursor = null;
        break;
      }
    }
    const page = await views.page(this.resyncAfter, resyncPageSize);
    for (const view of page) apply(metrics, view);
    const upTo = page.length < resyncPageSize ? Infinity : (page.at(-1) as AccountView).id;
    metrics.retainAccountsBetween(this.resyncAfter, upTo, new Set(page.map((v) => v.id)));
    this.resyncAfter = upTo === Infinity ? 0 : upTo;
    const counts = await repo.statusCounts();
    const backingOff = await repo.backingOffCounts();
    // The lease may have been dropped while we read: then the export stays off.
    if (!this.active) return;
    metrics.setStatusCounts(counts);
    metrics.setBackingOff(backingOff);
  }
}

/** One account's stored state into the export (a Deleted one leaves it). */
function apply(metrics: Metrics, view: AccountView): void {
  if (view.status === AccountStatus.Deleted) {
    metrics.removeAccount(view.id);
    return;
  }
  metrics.setAccountState(view.id, {
    status: view.status,
    errorCount: view.errorCount,
    sides: view.sides.map((s) => ({
      protocol: s.side,
      lastCheckAt: s.checkedAt,
      lastSuccessAt: s.lastSuccessAt,
      ok: s.ok,
      code: s.code,
    })),
  });
  metrics.retainSides(
    view.id,
    view.sides.map((s) => s.side),
  );
  for (const protocol of PROTOCOLS) {
    const side = view.sides.find((s) => s.side === protocol);
    const endpoint = view.endpoints[protocol];
    if (side && endpoint) metrics.restoreCertificate(view.id, protocol, endpoint, side.tlsNotAfter);
  }
  metrics.restoreMailbox(view.id, view.quotaRatio, view.deliveryLatencyMs);
}
