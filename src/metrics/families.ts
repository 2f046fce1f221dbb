import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { FAILURE_CODES } from '../probes/errors.js';
import type { Protocol } from '../probes/types.js';
import type { TlsExpiryTracker } from './tls-expiry.js';

/**
 * The prom-client metric families of mailmon's registry, one factory per concern. The per-account
 * families are not here: account-exposition.ts renders them (see there why).
 */

export const PROTOCOLS: readonly Protocol[] = ['imap', 'smtp'];

/** 10 ms .. 60 s: a healthy login is tens of ms, a check's deadline is tens of seconds. */
export const CHECK_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];

/** Constant facts about this process: build info, start time, check interval. */
export function registerProcessInfo(
  registry: Registry,
  facts: { version: string; startedAt: Date; checkIntervalSeconds: number },
): void {
  const registers = [registry];
  const constant = (name: string, help: string, value: number, labels: Record<string, string> = {}) =>
    new Gauge({ name, help, labelNames: Object.keys(labels), registers }).set(labels, value);
  constant('mailmon_build_info', 'Always 1; the version label names the running mailmon.', 1, {
    version: facts.version,
  });
  constant(
    'mailmon_start_time_seconds',
    'When this mailmon process started, Unix seconds.',
    facts.startedAt.getTime() / 1000,
  );
  constant(
    'mailmon_check_interval_seconds',
    'Configured time between two checks of one account (scheduler.checkIntervalSeconds), seconds.',
    facts.checkIntervalSeconds,
  );
}

export function createAccountCounts(registry: Registry): Gauge<'status'> {
  return new Gauge({
    name: 'mailmon_accounts',
    help: 'Accounts per status (unknown, deleted, failing, failed, ok), from the database.',
    labelNames: ['status'],
    registers: [registry],
  });
}

/** Accounts whose checks back off after credential failures (issue 11), by its latest credential failure. */
export function createBackingOff(registry: Registry): Gauge<'code'> {
  return new Gauge({
    name: 'mailmon_accounts_backing_off',
    help: 'Accounts whose checks back off after credential failures, by the latest credential failure code, from the database.',
    labelNames: ['code'],
    registers: [registry],
  });
}

export function createCheckMetrics(registry: Registry) {
  const registers = [registry];
  const checks = new Counter({
    name: 'mailmon_checks_total',
    help: 'Checks run, by protocol, result (success|failure) and failure code ("none" on success).',
    labelNames: ['protocol', 'result', 'code'],
    registers,
  });
  for (const protocol of PROTOCOLS) {
    // Every series exists from the start, so increase() sees the first failure of a kind.
    checks.inc({ protocol, result: 'success', code: 'none' }, 0);
    for (const code of FAILURE_CODES) checks.inc({ protocol, result: 'failure', code }, 0);
  }
  const duration = new Histogram({
    name: 'mailmon_check_duration_seconds',
    help: 'Check latency per phase; phase="total" is the whole check.',
    labelNames: ['protocol', 'phase'],
    buckets: CHECK_DURATION_BUCKETS,
    registers,
  });
  return { checks, duration };
}

export function createSweepMetrics(registry: Registry) {
  const registers = [registry];
  return {
    duration: new Gauge({
      name: 'mailmon_sweep_duration_seconds',
      help: 'Duration of the last completed sweep, seconds.',
      registers,
    }),
    last: new Gauge({
      name: 'mailmon_last_sweep_timestamp_seconds',
      help: 'When the last sweep completed, Unix seconds; 0 until the first since start.',
      registers,
    }),
    checked: new Gauge({
      name: 'mailmon_sweep_accounts_checked',
      help: 'Accounts checked by the last completed sweep.',
      registers,
    }),
    completed: new Counter({ name: 'mailmon_sweeps_total', help: 'Completed sweeps.', registers }),
    timedOut: new Counter({
      name: 'mailmon_checks_timed_out_total',
      help: 'Checks that timed out (deadline, connect or greeting timeout), as counted by each sweep.',
      registers,
    }),
    databaseErrors: new Counter({
      name: 'mailmon_database_errors_total',
      help: 'Database operations that failed.',
      registers,
    }),
  };
}

/** Certificate expiry per server, filled from the tracker at each scrape (a handful of series). */
export function registerTlsExpiry(registry: Registry, tls: TlsExpiryTracker): void {
  new Gauge({
    name: 'mailmon_tls_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the certificate last seen at this server (host, port), Unix seconds.',
    labelNames: ['host', 'port'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { host, port, expiresAt } of tls.entries()) this.set({ host, port }, expiresAt);
    },
  });
}
