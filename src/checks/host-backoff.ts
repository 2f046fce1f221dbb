// Per-host login backoff and "our IP looks banned" (issue 11). Fail2ban and providers' own limits
// count failed logins per source address, across mailboxes: ten accounts with stale passwords on
// one server can get mailmon's address banned even though each account backs off on its own.
//
// State: per replica, in memory (a restart forgets it; with R replicas a host sees up to R times
// the threshold before every replica slows down). The per-account backoff, which bounds what any
// one mailbox sees, is in the database and shared.
//
// Rules, per server host name (case-insensitive; ports share the count, as bans are per address):
// - every refused login there (a CREDENTIAL_FAILURES code at the auth phase) adds one refusal;
//   a login that goes through sets it back to 0;
// - from `threshold` refusals in a row, every account checked on that host waits
//   hostBackoffStep(refusals, threshold) doublings of the interval (next-due.ts), capped like the
//   per-account backoff;
// - a connection refused, reset or timed out before the greeting at a host that refused one of
//   our logins within `banWindowMs`, while a login at another host succeeded within that window
//   (so mailmon's own network works), is recorded as ip_banned instead: the fix is the ban, not the
//   server.
import type { FailureCode } from '../probes/errors.js';
import { CREDENTIAL_FAILURES } from '../probes/errors.js';
import type { ProbeResult } from '../probes/types.js';
import { failedAfterLogin, hostBackoffStep } from './next-due.js';

/** Connection failures a ban looks like (fail2ban REJECTs, DROPs or resets). */
const BAN_SYMPTOMS: ReadonlySet<FailureCode> = new Set<FailureCode>([
  'connection_refused',
  'connect_timeout',
  'greeting_timeout',
  'connection_closed',
]);

export interface HostBackoffConfig {
  /** Refused logins in a row at one host before it is slowed down. */
  threshold: number;
  /** How long after a refused login a refused connection counts as a ban, ms. */
  banWindowMs: number;
  clock?: () => number;
}

interface HostState {
  refusals: number;
  lastRefusalAt: number;
}

export class HostBackoff {
  private readonly hosts = new Map<string, HostState>();
  /** The last successful login at each host, for "other hosts' checks pass". */
  private readonly lastLogin = new Map<string, number>();
  private readonly clock: () => number;

  constructor(private readonly config: HostBackoffConfig) {
    this.clock = config.clock ?? Date.now;
  }

  /** Records one side's result at `host`; answers it, as ip_banned when it looks like a ban. */
  observe(host: string, result: ProbeResult): ProbeResult {
    const key = host.toLowerCase();
    const now = this.clock();
    const state = this.hosts.get(key);
    if (result.ok || failedAfterLogin(result.phase)) {
      this.hosts.delete(key);
      this.lastLogin.set(key, now);
      this.forgetOld(now);
      return result;
    }
    if (result.code !== null && result.phase === 'auth' && CREDENTIAL_FAILURES.has(result.code)) {
      this.hosts.set(key, { refusals: (state?.refusals ?? 0) + 1, lastRefusalAt: now });
      return result;
    }
    if (state !== undefined && result.code !== null && BAN_SYMPTOMS.has(result.code)) {
      const recent = now - state.lastRefusalAt <= this.config.banWindowMs;
      if (recent && this.otherHostWorks(key, now)) return asBanned(result);
    }
    return result;
  }

  /** The backoff step of the slowest of `hosts` (0: none is slowed down). */
  step(hosts: readonly string[]): number {
    let step = 0;
    for (const host of hosts) {
      const refusals = this.hosts.get(host.toLowerCase())?.refusals ?? 0;
      step = Math.max(step, hostBackoffStep(refusals, this.config.threshold));
    }
    return step;
  }

  private otherHostWorks(key: string, now: number): boolean {
    for (const [host, at] of this.lastLogin)
      if (host !== key && now - at <= this.config.banWindowMs) return true;
    return false;
  }

  /** Bounded memory: successes older than the window say nothing any more. */
  private forgetOld(now: number): void {
    if (this.lastLogin.size < 10_000) return;
    for (const [host, at] of this.lastLogin)
      if (now - at > this.config.banWindowMs) this.lastLogin.delete(host);
  }
}

function asBanned(result: ProbeResult): ProbeResult {
  const side = result.protocol.toUpperCase();
  const said = (result.reason ?? result.code ?? 'connection failed').replace(new RegExp(`^${side} `), '');
  const reason = `${side} ${SUMMARY_IP_BANNED}: ${said}`;
  return { ...result, code: 'ip_banned', reason: reason.length > 254 ? `${reason.slice(0, 253)}…` : reason };
}

const SUMMARY_IP_BANNED = "mailmon's address looks banned after failed logins (ask the provider to unban it)";
