import type { AccountRepository, RecordedCheck } from '../accounts/repository.js';
import { combineResults, type CheckOutcome } from '../accounts/status.js';
import { AccountStatus, type AuthBackoff, type EmailAccount, type ServiceAuth } from '../accounts/types.js';
import type { Logger } from '../logging/logger.js';
import { failureResult } from '../probes/context.js';
import { ProbeError, toError, type FailureCode } from '../probes/errors.js';
import type { OAuth2Deps } from '../probes/oauth2.js';
import type { AppGrantRequest } from '../probes/oauth2-app.js';
import { AppTokenCache, appGrantRequest, type TokenRequestResult } from './app-tokens.js';
import type { Probe, ProbeOptions, ProbeResult, ProbeTarget, Protocol } from '../probes/types.js';
import { lastCodesIfNeeded, refreshReason, refreshSideToken } from './oauth-refresh.js';
import { withDelivery, type CheckerDelivery } from './delivery-step.js';
import { mailboxDetails } from './mailbox-details.js';
import { runProbeWithDeadline } from './run-probe.js';
import type { Claim } from '../db/sweep-store.js';
import type { Metrics } from '../metrics/metrics.js';
import { CheckObserver, type ObservedMetrics } from './check-observer.js';
import { abandonedResults, type CheckLeases } from './check-leases.js';
import { backoffCode, nextAuthFailures, nextDueAt, waitMs } from './next-due.js';
import type { HostBackoff } from './host-backoff.js';
import { withExtraCa } from './extra-ca.js';
import type { HostLimiter } from './host-limiter.js';

export interface CheckerConfig {
  /** Deadline per side, ms. */
  timeoutMs: number;
  failedThreshold: number;
  /** An account is due again this long after the check's reference time. */
  checkIntervalMs: number;
  /** When set, SMTP checks of stored accounts include a test send to this address. */
  testSendTo?: string | null;
  /** CA certificates (PEM, tls.extraCaFile) trusted for every target that brings no CA of its own. */
  extraCaPem?: string;
  /** The longest wait of the backoff after credential failures (scheduler.authBackoffMaxHours), ms. */
  authBackoffMaxMs?: number;
}

export interface CheckerDeps {
  repo: AccountRepository;
  probes: Record<Protocol, Probe>;
  hostLimiter: HostLimiter;
  metrics: ObservedMetrics & Pick<Metrics, 'replica'> & Partial<Pick<Metrics, 'oauth'>>;
  logger: Logger;
  /** Default: one on `metrics` and `logger`. */
  observer?: CheckObserver;
  config: CheckerConfig;
  /** The egress policy's resolver; every probe connects only to addresses it returns. */
  resolve?: ProbeOptions['resolve'];
  /** The egress policy's address check for OAuth2 token endpoints (no port rule: they are HTTPS). */
  checkTokenHost?: ProbeOptions['resolve'];
  clock?: () => Date;
  /** Leases on the shared database (the daemon's, the CLI's): manual checks claim first. */
  leases?: CheckLeases;
  /** The delivery round trip (issue 12); absent: never run. */
  delivery?: CheckerDelivery;
  /** Per-host login backoff and ip_banned (this replica's memory); absent: none. */
  hostBackoff?: HostBackoff;
  /** App-only OAuth2 tokens shared by this process's checks; default: one of this checker's own. */
  appTokens?: AppTokenCache;
}

export interface CheckOptions {
  /** Aborting cancels the check: nothing is written (a claim is released). */
  signal: AbortSignal;
  /** Without a claim: the next due time is this plus the interval (default: the check's time). */
  dueFrom?: Date;
  /** The claim this check runs under (the claim loop's); its token fences the write. */
  claim?: Claim;
  /** Record check_abandoned for the claim instead of probing (its claims kept dying). */
  abandon?: boolean;
  /** Send a delivery probe message in this check although the account is not opted in (a sweep's sample). */
  deliverySample?: boolean;
}

export interface CheckReport {
  accountId: number;
  results: ProbeResult[];
  outcome: CheckOutcome;
  /** null when the account was deleted or saved while it was being checked (nothing written). */
  recorded: RecordedCheck | null;
}

/**
 * Checks one stored account: runs its IMAP and SMTP probes side by side, applies the status rules
 * in the database and hands the recorded transition to its observer (metrics, state-change log). Scheduled sweeps, the CLI and the HTTP
 * API all go through here, so an on-demand test updates the account exactly as a scheduled one.
 */
export class AccountChecker {
  // Concurrent requests for one account share one check instead of stampeding the mail server.
  private readonly inFlight = new Map<number, Promise<CheckReport | null>>();
  private readonly clock: () => Date;
  /** Where every recorded check's transition goes (metrics, the state-change log). */
  readonly observer: CheckObserver;

  private readonly appTokens: AppTokenCache;

  constructor(private readonly deps: CheckerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.observer = deps.observer ?? new CheckObserver(deps.metrics, deps.logger);
    this.appTokens =
      deps.appTokens ??
      new AppTokenCache({
        clock: this.clock,
        onRequest: (grant, result) => this.countTokenRequest(grant, result),
      });
  }

  private countTokenRequest(grant: string, result: TokenRequestResult): void {
    this.deps.metrics.oauth?.tokenRequest(grant, result);
  }

  /** The side's app-only credential expiry for the metrics (none: the side lets go of its series). */
  private recordCredential(accountId: number, protocol: Protocol, auth: ServiceAuth): void {
    const oauth = auth.oauth;
    const app = oauth && appGrantRequest(auth) !== null ? oauth : null;
    this.deps.metrics.oauth?.recordCredential(
      accountId,
      protocol,
      app ? { tokenUrl: app.tokenUrl, clientId: app.clientId } : null,
      app?.credentialExpiresAt ?? null,
    );
  }

  /** The oauth2 egress and trust settings every token request of this checker uses. */
  private oauth2Deps(): OAuth2Deps {
    return {
      ...(this.deps.checkTokenHost ? { checkHost: this.deps.checkTokenHost } : {}),
      // An in-house identity provider is usually signed by the same internal CA as the mail servers.
      ...(this.deps.config.extraCaPem === undefined ? {} : { caPem: this.deps.config.extraCaPem }),
    };
  }

  /**
   * An app-only side: the shared token (cached, or one request for all waiting checks), then the
   * probe. A token the server refuses is dropped from the cache, so the next check asks afresh.
   */
  private async probeAppSide(
    account: EmailAccount,
    protocol: Protocol,
    stored: ServiceAuth,
    grant: AppGrantRequest,
    signal: AbortSignal,
  ): Promise<ProbeResult> {
    const started = performance.now();
    const { timeoutMs } = this.deps.config;
    let accessToken: string;
    try {
      accessToken = await this.appTokens.get(grant, { signal, timeoutMs, oauth2: this.oauth2Deps() });
    } catch (thrown) {
      const error = toError(thrown);
      const failure =
        error instanceof ProbeError
          ? error
          : new ProbeError('deadline_exceeded', 'auth', 'the check ended while waiting for a token');
      return failureResult(
        this.targetFor(protocol, stored, account.emailAddress),
        failure,
        performance.now() - started,
      );
    }
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    const auth = { ...stored, password: accessToken };
    const result = await this.probeOne(this.targetFor(protocol, auth, account.emailAddress), signal, left);
    if (!result.ok && result.code === 'auth_rejected') this.appTokens.invalidate(grant, accessToken);
    return result;
  }

  /**
   * Null when the account does not exist or is Deleted, or the check was cancelled. With leases
   * configured, a check without a `claim` (a manual test) takes the account's lease first; when
   * another replica holds it, that replica's check is awaited and its stored result reported.
   */
  check(id: number, options: CheckOptions): Promise<CheckReport | null> {
    const running = this.inFlight.get(id);
    if (running) return running;
    const promise = this.claimAndCheck(id, options).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, promise);
    return promise;
  }

  private async claimAndCheck(id: number, options: CheckOptions): Promise<CheckReport | null> {
    const leases = this.deps.leases;
    if (options.claim !== undefined || leases === undefined) return this.checkOnce(id, options);
    const claim = await leases.claimOne(id);
    if (claim === null) return leases.awaitOther(id, options.signal);
    return this.checkOnce(id, { ...options, claim });
  }

  private async checkOnce(id: number, options: CheckOptions): Promise<CheckReport | null> {
    const { claim } = options;
    const started = performance.now();
    const epoch = this.observer.epoch();
    const inFlight = this.deps.metrics.replica;
    inFlight.inFlight.inc();
    try {
      const account = await this.deps.repo.getAccountWithSecrets(id);
      if (account === null || account.accountStatus === AccountStatus.Deleted) {
        if (claim) await this.deps.leases?.release(claim);
        return null;
      }
      const results = options.abandon
        ? abandonedResults(this.sideTargets(account), claim?.attempts ?? 0)
        : await this.probeWithDelivery(account, options);
      // A check cut short by shutdown is not a verdict on the account: write nothing rather than
      // invent one, and give the claim back so another replica checks it at once.
      if (options.signal.aborted) {
        if (claim) await this.deps.leases?.release(claim);
        return null;
      }
      const outcome = combineResults(results);
      const checkedAt = this.clock();
      // The one place the next due time is decided (database clock when claimed: see next-due.ts),
      // backing off after credential failures (the count lives on the row: every replica sees it).
      const authBackoff = this.authBackoffAfter(account, results);
      const schedule = {
        intervalMs: this.deps.config.checkIntervalMs,
        ...(this.deps.config.authBackoffMaxMs === undefined
          ? {}
          : { maxBackoffMs: this.deps.config.authBackoffMaxMs }),
        // Only a credential failure backs off: network and TLS failures keep the normal interval.
        authFailures: backoffCode(results) === null ? 0 : authBackoff.failures,
        hostStep: this.deps.hostBackoff?.step(this.sideHosts(account)) ?? 0,
      };
      const nextDue = claim
        ? nextDueAt({ ...schedule, dueAt: claim.dueAt, now: claim.claimedAt + (performance.now() - started) })
        : (options.dueFrom ?? checkedAt).getTime() + waitMs(schedule);
      const sides = results.map((r) => ({
        side: r.protocol,
        checkedAt,
        ok: r.ok,
        code: r.code,
        phase: r.phase,
        reason: r.reason,
        durationMs: r.durationMs,
        details: { phases: r.phases, tls: r.tls, transcript: r.transcript, ...mailboxDetails(r) },
      }));
      const fence = claim
        ? { claim: { token: claim.token, editVersion: claim.editVersion } }
        : { loadedUpdated: account.updated };
      const recorded = await this.deps.repo.recordCheck(
        id,
        { checkedAt, outcome, sides, nextDueAt: new Date(nextDue), authBackoff, ...fence },
        this.deps.config.failedThreshold,
      );
      if (recorded !== null) this.observer.checked(account, results, recorded, checkedAt, epoch);
      else if (claim) await this.deps.leases?.dropped(claim);
      return { accountId: id, results, outcome, recorded };
    } finally {
      inFlight.inFlight.dec();
    }
  }

  /** The account's credential failures in a row after `results` (see next-due.ts). */
  private authBackoffAfter(account: EmailAccount, results: readonly ProbeResult[]): AuthBackoff {
    const previous = account.authBackoff ?? { failures: 0, code: null };
    const failures = nextAuthFailures(previous.failures, results);
    return { failures, code: failures === 0 ? null : (backoffCode(results) ?? previous.code) };
  }

  private sideHosts(account: EmailAccount): string[] {
    return [account.incoming, account.outgoing].flatMap((side) => (side ? [side.server] : []));
  }

  /** The account's sides, then (when configured, and both sides passed) the delivery round trip. */
  private async probeWithDelivery(account: EmailAccount, options: CheckOptions): Promise<ProbeResult[]> {
    const probed = await this.probeAccount(account, options.signal);
    if (!this.deps.delivery) return probed;
    return withDelivery(
      {
        ...this.deps,
        delivery: this.deps.delivery,
        clock: this.clock,
        targetFor: (protocol, auth, address) => this.targetFor(protocol, auth, address),
        probeOne: (probe, target, timeoutMs) => this.probeOne(target, options.signal, timeoutMs, probe),
      },
      account,
      probed,
      options,
    );
  }

  /**
   * Runs the configured sides of `account` without storing results (also used for ad-hoc tests).
   * An OAuth2 side whose access token is missing or expiring is refreshed first (the new token is
   * stored back); the refresh and the probe share the side's deadline.
   */
  async probeAccount(account: EmailAccount, signal: AbortSignal): Promise<ProbeResult[]> {
    const sides: [Protocol, ServiceAuth][] = [];
    if (account.incoming) sides.push(['imap', account.incoming]);
    if (account.outgoing) sides.push(['smtp', account.outgoing]);
    const lastCodes = await lastCodesIfNeeded(this.deps.repo, account);
    return Promise.all(
      sides.map(([protocol, auth]) =>
        this.probeSide(account, protocol, auth, signal, lastCodes.get(protocol)),
      ),
    );
  }

  private async probeSide(
    account: EmailAccount,
    protocol: Protocol,
    stored: ServiceAuth,
    signal: AbortSignal,
    lastCode: FailureCode | null | undefined,
  ): Promise<ProbeResult> {
    this.recordCredential(account.emailAccountId, protocol, stored);
    const grant = appGrantRequest(stored);
    if (grant !== null) return this.probeAppSide(account, protocol, stored, grant, signal);
    const started = performance.now();
    const { repo, logger, config } = this.deps;
    const reason = refreshReason(stored, this.clock(), lastCode);
    let auth = stored;
    if (reason !== null) {
      const request = { accountId: account.emailAccountId, side: protocol, auth, reason, signal };
      try {
        auth = await refreshSideToken(
          { ...request, timeoutMs: config.timeoutMs },
          {
            repo,
            logger,
            clock: this.clock,
            oauth2: this.oauth2Deps(),
            onRequest: (result) => this.countTokenRequest('refresh_token', result),
          },
        );
      } catch (error) {
        const target = this.targetFor(protocol, stored, account.emailAddress);
        return failureResult(target, error as ProbeError, performance.now() - started);
      }
    }
    const timeoutMs = Math.max(1, config.timeoutMs - (performance.now() - started));
    const result = await this.probeOne(
      this.targetFor(protocol, auth, account.emailAddress),
      signal,
      timeoutMs,
    );
    return this.deps.hostBackoff?.observe(auth.server, result) ?? result;
  }

  private sideTargets(account: EmailAccount): ProbeTarget[] {
    const sides: [Protocol, ServiceAuth | null][] = [
      ['imap', account.incoming],
      ['smtp', account.outgoing],
    ];
    return sides.flatMap(([protocol, auth]) =>
      auth ? [this.targetFor(protocol, auth, account.emailAddress)] : [],
    );
  }

  private targetFor(protocol: Protocol, auth: ServiceAuth, emailAddress: string): ProbeTarget {
    const target = toTarget(protocol, auth, emailAddress);
    const to = this.deps.config.testSendTo;
    return protocol === 'smtp' && to ? { ...target, testSend: { to } } : target;
  }

  probeTargets(targets: readonly ProbeTarget[], signal: AbortSignal): Promise<ProbeResult[]> {
    return Promise.all(targets.map((target) => this.probeOne(target, signal, this.deps.config.timeoutMs)));
  }

  private probeOne(
    target: ProbeTarget,
    signal: AbortSignal,
    timeoutMs: number,
    probe: Probe = this.deps.probes[target.protocol],
  ): Promise<ProbeResult> {
    const [trusted] = withExtraCa([target], this.deps.config.extraCaPem) as [ProbeTarget];
    return this.deps.hostLimiter.run(target.host, () =>
      runProbeWithDeadline(probe, trusted, {
        signal,
        timeoutMs,
        resolve: this.deps.resolve,
      }),
    );
  }
}

export function toTarget(protocol: Protocol, auth: ServiceAuth, emailAddress: string): ProbeTarget {
  return {
    protocol,
    host: auth.server,
    port: auth.port,
    security: auth.security,
    authType: auth.authType,
    username: auth.username,
    secret: auth.password,
    acceptUnverifiedCert: auth.acceptUnverifiedCert,
    ...(auth.caPem ? { caPem: auth.caPem } : {}),
    emailAddress,
  };
}
