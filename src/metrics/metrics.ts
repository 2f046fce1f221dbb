import { Registry, collectDefaultMetrics } from 'prom-client';
import { AccountStatus } from '../accounts/types.js';
import { CREDENTIAL_FAILURES, FAILURE_CODES, PHASES, type FailureCode } from '../probes/errors.js';
import type { ProbeResult, Protocol } from '../probes/types.js';
import { renderAccountSeries } from './account-exposition.js';
import { AccountSeriesStore, type AccountState, type PerAccountSeries } from './account-series.js';
import {
  PROTOCOLS,
  createAccountCounts,
  createBackingOff,
  createCheckMetrics,
  createSweepMetrics,
  registerProcessInfo,
  registerTlsExpiry,
} from './families.js';
import { createReplicaMetrics } from './replica-families.js';
import { MailboxHealthMetrics } from './mailbox-health.js';
import { TlsExpiryTracker, type Endpoint } from './tls-expiry.js';
import { OAuthCredentialMetrics } from './oauth-credentials.js';

export type { AccountState, PerAccountSeries, SideState } from './account-series.js';
export type { Endpoint } from './tls-expiry.js';
export { CHECK_DURATION_BUCKETS } from './families.js';

/** `status` label values of `mailmon_accounts`: the AccountStatus names in lower case. */
export const STATUS_LABELS: Readonly<Record<AccountStatus, string>> = {
  [AccountStatus.Unknown]: 'unknown',
  [AccountStatus.Deleted]: 'deleted',
  [AccountStatus.Failing]: 'failing',
  [AccountStatus.Failed]: 'failed',
  [AccountStatus.Ok]: 'ok',
};

const STATUSES = Object.values(AccountStatus).filter((v): v is AccountStatus => typeof v === 'number');
const KNOWN_CODES: ReadonlySet<string> = new Set(FAILURE_CODES);
const KNOWN_PHASES: ReadonlySet<string> = new Set(PHASES);

export interface MetricsOptions {
  /** Per-account series: all, none (aggregates only) or the `max` lowest account ids. */
  perAccountSeries: PerAccountSeries;
  /**
   * Also export prom-client's runtime metrics (`process_*`, `nodejs_*`), unprefixed: their standard
   * names are what existing Node dashboards query, and three of them (`nodejs_active_*_total`, gauges
   * named like counters) fail `promtool check metrics` whatever the prefix. They cannot be stopped
   * (prom-client 15 keeps a GC observer and an event-loop-delay monitor), so enable once per process.
   */
  collectRuntime: boolean;
  /** mailmon's version, exported as `mailmon_build_info{version}`. */
  version: string;
  /** scheduler.checkIntervalSeconds: how often each account is checked (MailmonStale compares the lag with it). */
  checkIntervalSeconds: number;
  /** When the daemon started (`mailmon_start_time_seconds`); default: now. */
  startedAt?: Date;
  /** Quota usage counted by `mailmon_mailbox_quota_warning_accounts` (probes.quotaWarningPercent / 100). Default 0.9. */
  quotaWarningRatio?: number;
}

export interface SweepSummary {
  startedAt: Date;
  finishedAt: Date;
  /** Accounts checked in this sweep. */
  checked: number;
  /** Checks of this sweep that timed out (deadline, connect or greeting timeout). */
  timedOut: number;
}

/**
 * mailmon's Prometheus metrics, on a registry of its own (never prom-client's global one).
 * Per-account values live in memory and are rendered at scrape time, so a removed account's series
 * are simply absent from the next scrape.
 */
export class Metrics {
  /** Everything but the per-account families, which metricsText() renders itself. */
  private readonly registry = new Registry();
  private readonly accounts: AccountSeriesStore;
  private readonly tls = new TlsExpiryTracker();
  private readonly statusCounts: ReturnType<typeof createAccountCounts>;
  /** `mailmon_accounts_backing_off{code}`, counted in the database with the status counts. */
  private readonly backingOff: ReturnType<typeof createBackingOff>;
  /** What `statusCounts` exports, kept here so a transition can move one account between statuses. */
  private readonly counted = new Map<AccountStatus, number>();
  private readonly check: ReturnType<typeof createCheckMetrics>;
  private readonly sweep: ReturnType<typeof createSweepMetrics>;
  /** This replica's claims, leases and in-flight checks; the leader's schedule lag. */
  readonly replica: ReturnType<typeof createReplicaMetrics>;
  private readonly mailbox: MailboxHealthMetrics;
  /** Token endpoint answers and app-only credential expiry (issue 11). */
  readonly oauth: OAuthCredentialMetrics;
  /**
   * Whether this process exports the per-account series and `mailmon_accounts`. Off on replicas
   * that do not hold the leader lease (sweep/account-feed.ts turns it on and off), so one replica
   * at a time exports them and they never flap between replicas; a single process keeps it on.
   */
  private accountExport = true;

  constructor(options: MetricsOptions) {
    const interval = options.checkIntervalSeconds;
    if (!(Number.isFinite(interval) && interval > 0)) {
      throw new RangeError(`checkIntervalSeconds must be a positive number, got ${interval}`);
    }
    this.accounts = new AccountSeriesStore(options.perAccountSeries);
    registerProcessInfo(this.registry, {
      version: options.version,
      startedAt: options.startedAt ?? new Date(),
      checkIntervalSeconds: interval,
    });
    this.statusCounts = createAccountCounts(this.registry);
    this.setStatusCounts({});
    this.backingOff = createBackingOff(this.registry);
    this.setBackingOff({});
    registerTlsExpiry(this.registry, this.tls);
    this.check = createCheckMetrics(this.registry);
    this.sweep = createSweepMetrics(this.registry);
    this.replica = createReplicaMetrics(this.registry);
    this.mailbox = new MailboxHealthMetrics(
      this.registry,
      options.perAccountSeries,
      options.quotaWarningRatio ?? 0.9,
    );
    this.oauth = new OAuthCredentialMetrics(this.registry);
    if (options.collectRuntime) collectDefaultMetrics({ register: this.registry });
  }

  get exportsAccounts(): boolean {
    return this.accountExport;
  }

  /**
   * Turn the per-account export on or off. Off forgets every per-account value and stops exporting
   * `mailmon_accounts`; on exports nothing until values and counts are set (the leader's load), so
   * a scrape in between never sees zeros.
   */
  setAccountExport(on: boolean): void {
    if (on === this.accountExport) return;
    this.accountExport = on;
    if (on) return;
    const none = new Set<number>();
    this.accounts.retain(none);
    this.tls.retainAccounts(none);
    this.mailbox.retain(none);
    this.counted.clear();
    this.statusCounts.reset();
    this.backingOff.reset();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole exposition: the registry's metrics, then the per-account families. */
  async metricsText(): Promise<string> {
    return (await this.registry.metrics()) + renderAccountSeries(this.accounts) + this.mailbox.render();
  }

  /**
   * Record one finished check of one side. `endpoint` is the server the probe talked to; it labels
   * the certificate-expiry series (host and port, never the account's username).
   */
  recordCheck(accountId: number, result: ProbeResult, at: Date, endpoint: Endpoint): void {
    const { protocol, ok } = result;
    const code = ok ? null : boundedCode(result.code);
    this.check.checks.inc({ protocol, result: ok ? 'success' : 'failure', code: code ?? 'none' });
    for (const { phase, ms } of result.phases) {
      if (KNOWN_PHASES.has(phase) && ms >= 0) this.check.duration.observe({ protocol, phase }, ms / 1000);
    }
    if (result.durationMs >= 0)
      this.check.duration.observe({ protocol, phase: 'total' }, result.durationMs / 1000);
    this.mailbox.record(accountId, result, this.accountExport);
    if (!this.accountExport) return;
    this.accounts.recordSide(accountId, protocol, at, ok, code);
    this.tls.record(accountId, protocol, endpoint, result.tls?.notAfter, ok);
  }

  /**
   * Set an account's per-account values from the database: at start-up for every account (so a
   * restart does not reset them to zero). A Deleted status removes the account.
   */
  setAccountState(accountId: number, state: AccountState): void {
    if (!this.accountExport) return;
    if (state.status === AccountStatus.Deleted) this.removeAccount(accountId);
    else this.accounts.set(accountId, state);
  }

  /** After a check: the account's stored status and ErrorCount (its sides come from recordCheck). */
  setAccountStatus(accountId: number, status: AccountStatus, errorCount: number): void {
    if (!this.accountExport) return;
    if (status === AccountStatus.Deleted) this.removeAccount(accountId);
    else this.accounts.setStatus(accountId, status, errorCount);
  }

  /**
   * Restore a certificate's expiry seen at an account side's last check (from the database at
   * start-up), so certificate alerts survive a restart.
   */
  restoreCertificate(accountId: number, protocol: Protocol, endpoint: Endpoint, notAfter: Date | null): void {
    if (!this.accountExport) return;
    // No certificate at the last check (plain text, or a side that never got that far): let go.
    if (notAfter === null) {
      this.tls.removeAccount(accountId, [protocol]);
      return;
    }
    this.tls.record(accountId, protocol, endpoint, notAfter.toISOString(), true);
  }

  /** Restore an account's stored quota usage and last delivery latency (leader's view). */
  restoreMailbox(accountId: number, quotaRatio: number | null, deliveryLatencyMs: number | null): void {
    if (this.accountExport) this.mailbox.restore(accountId, quotaRatio, deliveryLatencyMs);
  }

  /** Drop every series of an account (deleted, or no longer monitored). */
  removeAccount(accountId: number): void {
    this.accounts.remove(accountId);
    this.tls.removeAccount(accountId, PROTOCOLS);
    this.mailbox.remove(accountId);
    this.oauth.removeSides(accountId, PROTOCOLS);
  }

  /**
   * Drop an account's per-side series and certificate references for every protocol not in
   * `protocols` (the sides it has now). Call it after a check, with the sides checked: a side removed
   * from the account (e.g. outgoing set to null) must not keep exporting its last result, nor keep
   * its old server's certificate alive.
   */
  retainSides(accountId: number, protocols: Iterable<Protocol>): void {
    if (!this.accountExport) return;
    const keep = new Set(protocols);
    this.accounts.retainSides(accountId, keep);
    const removed = PROTOCOLS.filter((p) => !keep.has(p));
    this.tls.removeAccount(accountId, removed);
    this.oauth.removeSides(accountId, removed);
  }

  /**
   * Drop the series of every account not in `activeIds` (the database's non-deleted accounts).
   * Call it after each sweep: an account deleted by another process (the CLI, another instance's
   * API) is never checked again here, so nothing else would remove its series until a restart.
   */
  retainAccounts(activeIds: Iterable<number>): void {
    const keep = new Set(activeIds);
    this.accounts.retain(keep);
    this.tls.retainAccounts(keep);
    this.mailbox.retain(keep);
    this.oauth.retainAccounts(keep);
  }

  /**
   * Drop the series of accounts with ids in (`afterId`, `upTo`] that are not in `present` (one page
   * of the database's non-deleted accounts, read in id order): the leader's slow resync removes
   * what it missed without ever holding every id at once.
   */
  retainAccountsBetween(afterId: number, upTo: number, present: ReadonlySet<number>): void {
    const keep = (id: number) => id <= afterId || id > upTo || present.has(id);
    this.accounts.retainWhere(keep);
    this.tls.retainWhere(keep);
    this.mailbox.retainWhere(keep);
  }

  /** Accounts per status, counted in the database; a status left out is exported as 0. */
  setStatusCounts(counts: Partial<Record<AccountStatus, number>>): void {
    if (!this.accountExport) return;
    for (const status of STATUSES) this.setCount(status, counts[status] ?? 0);
  }

  /** Accounts backing off after credential failures, by code; a code left out is exported as 0. */
  setBackingOff(counts: Partial<Record<FailureCode, number>>): void {
    if (!this.accountExport) return;
    for (const code of CREDENTIAL_FAILURES) this.backingOff.set({ code }, counts[code] ?? 0);
  }

  /**
   * One account moved from status `from` (null: it is new) to `to`, as a database write reported
   * it. Moves one account between the `mailmon_accounts` series without counting again.
   */
  countTransition(from: AccountStatus | null, to: AccountStatus): void {
    if (from === to || !this.accountExport) return;
    // Signed on purpose: observations of one account can arrive out of order (a delete observed
    // before the check that committed first), and the later one must cancel the earlier one's
    // move; clamping at 0 here would leave the count one too high. The gauge never shows < 0.
    if (from !== null) this.setCount(from, (this.counted.get(from) ?? 0) - 1);
    this.setCount(to, (this.counted.get(to) ?? 0) + 1);
  }

  private setCount(status: AccountStatus, n: number): void {
    this.counted.set(status, n);
    this.statusCounts.set({ status: STATUS_LABELS[status] }, Math.max(0, n));
  }

  recordSweep(sweep: SweepSummary): void {
    const seconds = (sweep.finishedAt.getTime() - sweep.startedAt.getTime()) / 1000;
    this.sweep.duration.set(Math.max(0, seconds));
    this.sweep.last.set(sweep.finishedAt.getTime() / 1000);
    this.sweep.checked.set(sweep.checked);
    this.sweep.completed.inc();
    if (sweep.timedOut > 0) this.sweep.timedOut.inc(sweep.timedOut);
  }

  incDatabaseErrors(): void {
    this.sweep.databaseErrors.inc();
  }
}

/** Keep the code label inside the catalogue whatever a probe returns. */
function boundedCode(code: FailureCode | null): FailureCode {
  return code !== null && KNOWN_CODES.has(code) ? code : 'internal_error';
}
