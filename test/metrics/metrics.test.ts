import { describe, expect, it } from 'vitest';
import { AccountStatus } from '../../src/accounts/types.js';
import { CHECK_DURATION_BUCKETS, type AccountState } from '../../src/metrics/metrics.js';
import { FAILURE_CODES } from '../../src/probes/errors.js';
import { describeWithPeer } from '../peers/require.js';
import { promtool } from '../prometheus/promtool.js';
import { find, mailmonPart, parseExposition, value, type Sample } from './exposition.js';
import { ENDPOINT, failure, newMetrics, populatedMetrics, probeResult, tlsFacts } from './fixtures.js';

const AT = new Date('2030-06-01T12:00:00Z');
const T = AT.getTime() / 1000;

async function scrape(metrics: { metricsText(): Promise<string> }): Promise<Sample[]> {
  return parseExposition(await metrics.metricsText());
}

function failingState(errorCount: number, status = AccountStatus.Failing): AccountState {
  return {
    status,
    errorCount,
    sides: [
      { protocol: 'imap', lastCheckAt: AT, lastSuccessAt: new Date((T - 3600) * 1000), ok: false },
      { protocol: 'smtp', lastCheckAt: AT, lastSuccessAt: AT, ok: true },
    ],
  };
}

const accountIds = (samples: Sample[]) =>
  [...new Set(samples.filter((s) => s.labels.account_id).map((s) => s.labels.account_id))].sort();

describe('Metrics: account status counts', () => {
  it('always exports all five statuses, zero when not given', async () => {
    const metrics = newMetrics();
    metrics.setStatusCounts({ [AccountStatus.Ok]: 7, [AccountStatus.Failing]: 2 });
    const samples = find(await scrape(metrics), 'mailmon_accounts');
    const byStatus = Object.fromEntries(samples.map((s) => [s.labels.status, s.value]));
    expect(byStatus).toEqual({ unknown: 0, deleted: 0, failing: 2, failed: 0, ok: 7 });
  });

  it('resets a status missing from a later count to zero', async () => {
    const metrics = newMetrics();
    metrics.setStatusCounts({ [AccountStatus.Failed]: 3 });
    metrics.setStatusCounts({ [AccountStatus.Ok]: 3 });
    expect(value(await scrape(metrics), 'mailmon_accounts', { status: 'failed' })).toBe(0);
  });
});

describe('Metrics: per-account series', () => {
  it('restores values from the database without any check', async () => {
    const metrics = newMetrics();
    metrics.setAccountState(42, failingState(4));
    const samples = await scrape(metrics);
    expect(value(samples, 'mailmon_account_consecutive_failures', { account_id: '42' })).toBe(4);
    expect(value(samples, 'mailmon_account_status', { account_id: '42' })).toBe(AccountStatus.Failing);
    expect(value(samples, 'mailmon_check_success', { account_id: '42', protocol: 'imap' })).toBe(0);
    expect(value(samples, 'mailmon_check_success', { account_id: '42', protocol: 'smtp' })).toBe(1);
    expect(
      value(samples, 'mailmon_last_success_timestamp_seconds', { account_id: '42', protocol: 'imap' }),
    ).toBe(T - 3600);
    expect(
      value(samples, 'mailmon_last_check_timestamp_seconds', { account_id: '42', protocol: 'imap' }),
    ).toBe(T);
    // One failure series per failing side, even when the database did not keep the code.
    const failures = find(samples, 'mailmon_check_failure_info', { account_id: '42' });
    expect(failures.map((s) => [s.labels.protocol, s.labels.code])).toEqual([['imap', 'unknown']]);
  });

  it('records a failure with its code, keeps the last success, and clears the code on success', async () => {
    const metrics = newMetrics();
    const id = { account_id: '9', protocol: 'imap' };
    metrics.recordCheck(9, probeResult(), AT, ENDPOINT);
    const later = new Date(AT.getTime() + 60_000);
    metrics.recordCheck(9, failure('auth_rejected'), later, ENDPOINT);
    let samples = await scrape(metrics);
    expect(value(samples, 'mailmon_check_success', id)).toBe(0);
    expect(value(samples, 'mailmon_last_success_timestamp_seconds', id)).toBe(T);
    expect(value(samples, 'mailmon_last_check_timestamp_seconds', id)).toBe(T + 60);
    expect(value(samples, 'mailmon_check_failure_info', { ...id, code: 'auth_rejected' })).toBe(1);

    // The state written back from the database after the check carries no code: it is kept.
    metrics.setAccountState(9, {
      status: AccountStatus.Failing,
      errorCount: 1,
      sides: [{ protocol: 'imap', lastCheckAt: later, lastSuccessAt: AT, ok: false }],
    });
    expect(find(await scrape(metrics), 'mailmon_check_failure_info', id)).toHaveLength(1);

    metrics.recordCheck(9, probeResult(), new Date(AT.getTime() + 120_000), ENDPOINT);
    samples = await scrape(metrics);
    expect(value(samples, 'mailmon_check_success', id)).toBe(1);
    expect(find(samples, 'mailmon_check_failure_info')).toHaveLength(0);
  });

  it.each([
    ['removeAccount', (m: ReturnType<typeof newMetrics>) => m.removeAccount(5)],
    [
      'a Deleted state',
      (m: ReturnType<typeof newMetrics>) =>
        m.setAccountState(5, { status: AccountStatus.Deleted, errorCount: 0, sides: [] }),
    ],
  ])('drops every series of a deleted account (%s)', async (_how, remove) => {
    const metrics = newMetrics();
    metrics.recordCheck(5, failure('connection_refused'), AT, ENDPOINT);
    metrics.setAccountState(5, failingState(2));
    metrics.setAccountState(6, failingState(1));
    expect(accountIds(await scrape(metrics))).toEqual(['5', '6']);
    remove(metrics);
    const samples = await scrape(metrics);
    expect(accountIds(samples)).toEqual(['6']);
    // Aggregates are history, not state: they stay.
    expect(value(samples, 'mailmon_checks_total', { protocol: 'imap', code: 'connection_refused' })).toBe(1);
  });

  it('never creates per-account series when turned off, but keeps the aggregates', async () => {
    const metrics = newMetrics({ perAccountSeries: 'none' });
    metrics.setAccountState(1, failingState(3));
    metrics.recordCheck(1, failure('auth_rejected'), AT, ENDPOINT);
    const samples = await scrape(metrics);
    expect(samples.filter((s) => 'account_id' in s.labels)).toEqual([]);
    expect(value(samples, 'mailmon_checks_total', { protocol: 'imap', code: 'auth_rejected' })).toBe(1);
    expect(value(samples, 'mailmon_check_duration_seconds_count', { protocol: 'imap', phase: 'total' })).toBe(
      1,
    );
  });

  it('caps per-account series at the lowest account ids, promoting the next one on removal', async () => {
    const metrics = newMetrics({ perAccountSeries: { max: 2 } });
    for (const id of [30, 10, 40, 20]) metrics.setAccountState(id, failingState(1));
    expect(accountIds(await scrape(metrics))).toEqual(['10', '20']);
    metrics.removeAccount(10);
    expect(accountIds(await scrape(metrics))).toEqual(['20', '30']);
    metrics.recordCheck(5, failure('auth_rejected'), AT, ENDPOINT);
    expect(accountIds(await scrape(metrics))).toEqual(['20', '5']);
  });

  it('rejects a cap that is not a non-negative integer, and a sweep interval that is not positive', () => {
    expect(() => newMetrics({ perAccountSeries: { max: -1 } })).toThrow(RangeError);
    expect(() => newMetrics({ perAccountSeries: { max: 1.5 } })).toThrow(RangeError);
    expect(() => newMetrics({ checkIntervalSeconds: 0 })).toThrow(RangeError);
  });
});

describe('Metrics: checks', () => {
  it('keeps the code label inside the catalogue and pre-creates every series', async () => {
    const metrics = newMetrics();
    const before = find(await scrape(metrics), 'mailmon_checks_total');
    expect(before).toHaveLength(2 * (1 + FAILURE_CODES.length));
    metrics.recordCheck(1, failure('made_up_code' as never), AT, ENDPOINT);
    metrics.recordCheck(1, failure(null), AT, ENDPOINT);
    metrics.recordCheck(1, probeResult({ protocol: 'smtp' }), AT, ENDPOINT);
    const after = find(await scrape(metrics), 'mailmon_checks_total');
    expect(after).toHaveLength(before.length);
    const allowed = new Set<string>([...FAILURE_CODES, 'none']);
    expect(after.every((s) => allowed.has(s.labels.code!))).toBe(true);
    expect(value(after, 'mailmon_checks_total', { protocol: 'imap', code: 'internal_error' })).toBe(2);
    expect(value(after, 'mailmon_checks_total', { protocol: 'smtp', result: 'success', code: 'none' })).toBe(
      1,
    );
  });

  it('keeps per-account label values in their closed sets whatever the database holds', async () => {
    const metrics = newMetrics();
    metrics.setAccountState(1, {
      status: AccountStatus.Failing,
      errorCount: 1,
      sides: [
        { protocol: 'pop3' as never, lastCheckAt: AT, lastSuccessAt: null, ok: false },
        {
          protocol: 'imap',
          lastCheckAt: AT,
          lastSuccessAt: null,
          ok: false,
          code: 'x"} 1\nmailmon_evil 1' as never,
        },
      ],
    });
    const text = await metrics.metricsText();
    expect(text).not.toContain('evil');
    const failures = find(parseExposition(text), 'mailmon_check_failure_info');
    expect(failures.map((s) => s.labels)).toEqual([{ account_id: '1', protocol: 'imap', code: 'unknown' }]);
  });

  it('observes each phase and the total in seconds, without an account label', async () => {
    const metrics = newMetrics();
    metrics.recordCheck(
      1,
      probeResult({ durationMs: 1500, phases: [{ phase: 'auth', ms: 30 }] }),
      AT,
      ENDPOINT,
    );
    const samples = await scrape(metrics);
    const bucket = (phase: string, le: string) =>
      value(samples, 'mailmon_check_duration_seconds_bucket', { protocol: 'imap', phase, le });
    expect(bucket('auth', '0.025')).toBe(0);
    expect(bucket('auth', '0.05')).toBe(1);
    expect(bucket('total', '1')).toBe(0);
    expect(bucket('total', '2.5')).toBe(1);
    expect(value(samples, 'mailmon_check_duration_seconds_sum', { protocol: 'imap', phase: 'total' })).toBe(
      1.5,
    );
    expect(CHECK_DURATION_BUCKETS[0]).toBe(0.01);
    expect(CHECK_DURATION_BUCKETS.at(-1)).toBe(60);
    expect(find(samples, 'mailmon_check_duration_seconds_bucket').some((s) => 'account_id' in s.labels)).toBe(
      false,
    );
  });

  it('exports a certificate expiry per host and port until no account uses that server', async () => {
    const metrics = newMetrics();
    const tls = tlsFacts('2031-01-01T00:00:00.000Z');
    metrics.recordCheck(1, probeResult({ tls }), AT, { host: 'IMAP.Example.Test', port: 993 });
    metrics.recordCheck(2, probeResult({ tls }), AT, ENDPOINT);
    const where = { host: 'imap.example.test', port: '993' };
    const expiry = Date.parse('2031-01-01T00:00:00.000Z') / 1000;
    expect(value(await scrape(metrics), 'mailmon_tls_certificate_expiry_timestamp_seconds', where)).toBe(
      expiry,
    );
    metrics.removeAccount(1);
    expect(find(await scrape(metrics), 'mailmon_tls_certificate_expiry_timestamp_seconds')).toHaveLength(1);
    // Account 2 moves to another server: the old certificate is nobody's any more.
    metrics.recordCheck(2, probeResult({ tls }), AT, { host: 'mail.other.test', port: 993 });
    const left = find(await scrape(metrics), 'mailmon_tls_certificate_expiry_timestamp_seconds');
    expect(left.map((s) => s.labels.host)).toEqual(['mail.other.test']);
  });

  it('keeps a known expiry through a failure without TLS, drops it when the side goes plain text', async () => {
    const metrics = newMetrics();
    metrics.recordCheck(1, probeResult({ tls: tlsFacts('2031-01-01T00:00:00.000Z') }), AT, ENDPOINT);
    metrics.recordCheck(1, failure('connection_refused'), AT, ENDPOINT);
    expect(find(await scrape(metrics), 'mailmon_tls_certificate_expiry_timestamp_seconds')).toHaveLength(1);
    metrics.recordCheck(1, probeResult(), AT, ENDPOINT);
    expect(find(await scrape(metrics), 'mailmon_tls_certificate_expiry_timestamp_seconds')).toHaveLength(0);
  });
});

describe('Metrics: monitor health', () => {
  it('records the last sweep, timed-out checks, database errors, build info and interval', async () => {
    const metrics = newMetrics({ startedAt: new Date((T - 10) * 1000) });
    let samples = await scrape(metrics);
    expect(value(samples, 'mailmon_last_sweep_timestamp_seconds')).toBe(0);
    metrics.recordSweep({ startedAt: new Date((T - 2.5) * 1000), finishedAt: AT, checked: 12, timedOut: 2 });
    metrics.incDatabaseErrors();
    samples = await scrape(metrics);
    expect(value(samples, 'mailmon_sweep_duration_seconds')).toBe(2.5);
    expect(value(samples, 'mailmon_last_sweep_timestamp_seconds')).toBe(T);
    expect(value(samples, 'mailmon_sweep_accounts_checked')).toBe(12);
    expect(value(samples, 'mailmon_sweeps_total')).toBe(1);
    expect(value(samples, 'mailmon_checks_timed_out_total')).toBe(2);
    expect(value(samples, 'mailmon_database_errors_total')).toBe(1);
    expect(value(samples, 'mailmon_build_info', { version: '1.2.3' })).toBe(1);
    expect(value(samples, 'mailmon_check_interval_seconds')).toBe(300);
    expect(value(samples, 'mailmon_start_time_seconds')).toBe(T - 10);
  });

  it('exports the runtime defaults only when asked, on its own registry', async () => {
    const without = await newMetrics().metricsText();
    expect(without).not.toMatch(/^process_cpu_seconds_total/m);
    const withRuntime = await newMetrics({ collectRuntime: true }).metricsText();
    expect(withRuntime).toMatch(/^process_cpu_seconds_total /m);
    expect(withRuntime).toMatch(/^nodejs_heap_size_used_bytes /m);
  });

  it('uses only bounded label names: no address or username can become a label', async () => {
    const labelNames = new Set((await scrape(populatedMetrics())).flatMap((s) => Object.keys(s.labels)));
    const allowed = [
      'account_id',
      'client_id', // mailmon_oauth_credential_expiry_timestamp_seconds: an app's id (a service account for Google), never a mailbox
      'code',
      'folder', // delivery latency: inbox | junk
      'grant', // mailmon_oauth_token_requests_total: refresh_token | client_credentials | jwt_bearer
      'host',
      'le',
      'outcome', // delivery round trips: delivered | junk | pending | lost
      'phase',
      'port',
      'protocol',
      'reason', // mailmon_results_dropped_total: lease_lost | edited
      'result',
      'status',
      'token_host', // the OAuth2 token endpoint's host
      'version',
    ];
    expect([...labelNames].sort()).toEqual(allowed);
  });
});

describeWithPeer('promtool', 'Metrics: promtool check metrics', () => {
  it('finds no problem in the mailmon_ metrics', async () => {
    const metrics = populatedMetrics();
    const run = await promtool(['check', 'metrics'], mailmonPart(await metrics.metricsText()));
    expect(run.stdout + run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('does report a badly named metric (the lint is really applied)', async () => {
    const bad =
      '# HELP mailmon_x_total A gauge named like a counter.\n# TYPE mailmon_x_total gauge\nmailmon_x_total 1\n';
    const run = await promtool(['check', 'metrics'], bad);
    expect(run.code).not.toBe(0);
  });
});
