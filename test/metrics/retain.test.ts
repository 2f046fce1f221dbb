// Metrics.retainAccounts: the reconciliation after each sweep that removes the series of accounts
// deleted by another process (the CLI, another instance), which this process never checks again.
import { describe, expect, it } from 'vitest';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { find, parseExposition, value } from './exposition.js';
import { failure, newMetrics, probeResult, tlsFacts } from './fixtures.js';

const AT = new Date('2030-06-01T12:00:00Z');
const TLS = tlsFacts('2031-01-01T00:00:00.000Z');
const SHARED = { host: 'imap.example.test', port: 993 };
const OWN = { host: 'mail.three.test', port: 993 };

/** Accounts 1 and 2 on one server, 3 on its own; all three with per-account series. */
function threeAccounts(metrics: Metrics): Metrics {
  metrics.recordCheck(1, probeResult({ tls: TLS }), AT, SHARED);
  metrics.recordCheck(2, failure('auth_rejected', { tls: TLS }), AT, SHARED);
  metrics.recordCheck(3, probeResult({ tls: TLS }), AT, OWN);
  for (const id of [1, 2, 3]) {
    metrics.setAccountState(id, {
      status: id === 2 ? AccountStatus.Failing : AccountStatus.Ok,
      errorCount: id === 2 ? 1 : 0,
      sides: [{ protocol: 'imap', lastCheckAt: AT, lastSuccessAt: AT, ok: id !== 2 }],
    });
  }
  metrics.setStatusCounts({ [AccountStatus.Ok]: 2, [AccountStatus.Failing]: 1 });
  return metrics;
}

async function scrape(metrics: Metrics) {
  return parseExposition(await metrics.metricsText());
}

const accountIds = (samples: Awaited<ReturnType<typeof scrape>>) =>
  [...new Set(samples.filter((s) => s.labels.account_id).map((s) => s.labels.account_id))].sort();
const certificateHosts = (samples: Awaited<ReturnType<typeof scrape>>) =>
  find(samples, 'mailmon_tls_certificate_expiry_timestamp_seconds').map((s) => s.labels.host);

describe('Metrics.retainAccounts', () => {
  it('drops every series of accounts no longer active, and nothing else', async () => {
    const metrics = threeAccounts(newMetrics());
    metrics.retainAccounts([1, 3]);
    const samples = await scrape(metrics);
    expect(accountIds(samples)).toEqual(['1', '3']);
    expect(find(samples, 'mailmon_check_failure_info')).toEqual([]);
    // Aggregates are the database's business (setStatusCounts), and counters never go back.
    expect(value(samples, 'mailmon_accounts', { status: 'failing' })).toBe(1);
    expect(value(samples, 'mailmon_checks_total', { protocol: 'imap', code: 'auth_rejected' })).toBe(1);
  });

  it('keeps a certificate while an active account uses its server, drops it with the last one', async () => {
    const metrics = threeAccounts(newMetrics());
    metrics.retainAccounts(new Set([1]));
    expect(certificateHosts(await scrape(metrics))).toEqual(['imap.example.test']);
    metrics.retainAccounts([]);
    expect(certificateHosts(await scrape(metrics))).toEqual([]);
  });

  it('prunes certificates even when per-account series are off', async () => {
    const metrics = threeAccounts(newMetrics({ perAccountSeries: 'none' }));
    expect(certificateHosts(await scrape(metrics)).sort()).toEqual(['imap.example.test', 'mail.three.test']);
    metrics.retainAccounts([1, 2]);
    expect(certificateHosts(await scrape(metrics))).toEqual(['imap.example.test']);
  });

  it('under a cap, promotes the next lowest id in place of a removed one', async () => {
    const metrics = threeAccounts(newMetrics({ perAccountSeries: { max: 2 } }));
    expect(accountIds(await scrape(metrics))).toEqual(['1', '2']);
    metrics.retainAccounts([2, 3]);
    expect(accountIds(await scrape(metrics))).toEqual(['2', '3']);
  });
});
