// Metrics.retainSides: a side removed from an account (e.g. outgoing set to null) loses its series
// and its certificate reference, instead of exporting its last result and its old server forever.
import { describe, expect, it } from 'vitest';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { find, parseExposition, type Sample } from './exposition.js';
import { failure, newMetrics, probeResult, tlsFacts } from './fixtures.js';

const AT = new Date('2030-06-01T12:00:00Z');
const TLS = tlsFacts('2031-01-01T00:00:00.000Z');
const IMAP = { host: 'imap.example.test', port: 993 };
const SMTP = { host: 'smtp.example.test', port: 465 };

/** Per-account families carrying a protocol label. */
const SIDE_FAMILIES = [
  'mailmon_check_success',
  'mailmon_last_check_timestamp_seconds',
  'mailmon_last_success_timestamp_seconds',
  'mailmon_check_failure_info',
];

/** Account `id` checked on both sides: IMAP passes, SMTP fails with a certificate seen. */
function checkBoth(metrics: Metrics, id: number): void {
  metrics.recordCheck(id, probeResult({ tls: TLS }), AT, IMAP);
  metrics.recordCheck(id, probeResult({ protocol: 'smtp', tls: TLS }), new Date(AT.getTime() - 60_000), SMTP);
  metrics.recordCheck(id, failure('auth_rejected', { protocol: 'smtp', tls: TLS }), AT, SMTP);
  metrics.setAccountStatus(id, AccountStatus.Failing, 1);
}

async function scrape(metrics: Metrics): Promise<Sample[]> {
  return parseExposition(await metrics.metricsText());
}

const sideSeries = (samples: Sample[], id: number, protocol: string) =>
  SIDE_FAMILIES.flatMap((name) => find(samples, name, { account_id: String(id), protocol }));
const certificateHosts = (samples: Sample[]) =>
  find(samples, 'mailmon_tls_certificate_expiry_timestamp_seconds')
    .map((s) => s.labels.host)
    .sort();

describe('Metrics.retainSides', () => {
  it("drops a removed side's series and its server's certificate, keeps the other side", async () => {
    const metrics = newMetrics();
    checkBoth(metrics, 1);
    let samples = await scrape(metrics);
    expect(sideSeries(samples, 1, 'smtp')).toHaveLength(4);
    expect(certificateHosts(samples)).toEqual(['imap.example.test', 'smtp.example.test']);

    metrics.retainSides(1, ['imap']);
    samples = await scrape(metrics);
    expect(sideSeries(samples, 1, 'smtp')).toEqual([]);
    expect(sideSeries(samples, 1, 'imap').map((s) => s.name)).toEqual([
      'mailmon_check_success',
      'mailmon_last_check_timestamp_seconds',
      'mailmon_last_success_timestamp_seconds',
    ]);
    expect(certificateHosts(samples)).toEqual(['imap.example.test']);
    // The account itself stays, and counters never go back.
    expect(find(samples, 'mailmon_account_status', { account_id: '1' })).toHaveLength(1);
    expect(find(samples, 'mailmon_checks_total', { protocol: 'smtp', code: 'auth_rejected' })[0]?.value).toBe(
      1,
    );
  });

  it('keeps a certificate another account still uses, and the other accounts untouched', async () => {
    const metrics = newMetrics();
    checkBoth(metrics, 1);
    checkBoth(metrics, 2);
    metrics.retainSides(1, ['imap']);
    const samples = await scrape(metrics);
    expect(sideSeries(samples, 1, 'smtp')).toEqual([]);
    expect(sideSeries(samples, 2, 'smtp')).toHaveLength(4);
    expect(certificateHosts(samples)).toEqual(['imap.example.test', 'smtp.example.test']);
    metrics.retainSides(2, ['imap']);
    expect(certificateHosts(await scrape(metrics))).toEqual(['imap.example.test']);
  });

  it('keeps every side still configured, and releases certificates with per-account series off', async () => {
    const metrics = newMetrics();
    checkBoth(metrics, 1);
    const before = await metrics.metricsText();
    metrics.retainSides(1, ['imap', 'smtp']);
    metrics.retainSides(99, ['imap']); // an account without series: nothing to do
    expect(await metrics.metricsText()).toBe(before);

    const off = newMetrics({ perAccountSeries: 'none' });
    checkBoth(off, 1);
    off.retainSides(1, ['imap']);
    expect(certificateHosts(await scrape(off))).toEqual(['imap.example.test']);
  });
});
