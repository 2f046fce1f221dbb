// Quota and delivery metrics: the per-account families follow metrics.perAccountSeries, the
// aggregates count every account, and deleted accounts lose their series.
import { describe, expect, it } from 'vitest';
import { find, parseExposition, value } from './exposition.js';
import { deliveryFacts, ENDPOINT, newMetrics, probeResult, quotaFacts } from './fixtures.js';

const AT = new Date('2030-06-01T12:00:00Z');

describe('mailbox health metrics', () => {
  it('quota usage per account, and how many accounts are at or above the warning level', async () => {
    const metrics = newMetrics({ quotaWarningRatio: 0.9 });
    metrics.recordCheck(1, probeResult({ quota: quotaFacts(0.5) }), AT, ENDPOINT);
    metrics.recordCheck(2, probeResult({ quota: quotaFacts(0.9) }), AT, ENDPOINT);
    metrics.recordCheck(3, probeResult({ quota: quotaFacts(1.07) }), AT, ENDPOINT);
    metrics.recordCheck(4, probeResult(), AT, ENDPOINT); // no QUOTA on this server
    const samples = parseExposition(await metrics.metricsText());
    expect(value(samples, 'mailmon_mailbox_quota_usage_ratio', { account_id: '2' })).toBe(0.9);
    expect(find(samples, 'mailmon_mailbox_quota_usage_ratio')).toHaveLength(3);
    expect(value(samples, 'mailmon_mailbox_quota_warning_accounts')).toBe(2);
    expect(value(samples, 'mailmon_mailbox_quota_warning_ratio')).toBe(0.9);
    metrics.removeAccount(3);
    const after = parseExposition(await metrics.metricsText());
    expect(value(after, 'mailmon_mailbox_quota_warning_accounts')).toBe(1);
    expect(find(after, 'mailmon_mailbox_quota_usage_ratio', { account_id: '3' })).toEqual([]);
  });

  it('respects perAccountSeries: a cap exports the lowest ids, none exports no per-account series', async () => {
    for (const [mode, exported] of [
      [{ max: 2 }, ['1', '2']],
      ['none', []],
    ] as const) {
      const metrics = newMetrics({ perAccountSeries: mode });
      for (const id of [3, 1, 2]) {
        metrics.recordCheck(id, probeResult({ quota: quotaFacts(0.95) }), AT, ENDPOINT);
        metrics.recordCheck(
          id,
          probeResult({ protocol: 'smtp', delivery: deliveryFacts('delivered', 800) }),
          AT,
          ENDPOINT,
        );
      }
      const samples = parseExposition(await metrics.metricsText());
      for (const name of ['mailmon_mailbox_quota_usage_ratio', 'mailmon_delivery_last_latency_seconds']) {
        expect(
          find(samples, name).map((s) => s.labels.account_id),
          name,
        ).toEqual(exported);
      }
      // The aggregates still count all three.
      expect(value(samples, 'mailmon_mailbox_quota_warning_accounts')).toBe(3);
      expect(value(samples, 'mailmon_delivery_checks_total', { outcome: 'delivered' })).toBe(3);
    }
  });

  it('delivery: outcomes counted (every outcome exists from the start), latency observed by folder', async () => {
    const metrics = newMetrics();
    const before = parseExposition(await metrics.metricsText());
    expect(
      find(before, 'mailmon_delivery_checks_total')
        .map((s) => s.labels.outcome)
        .sort(),
    ).toEqual(['delivered', 'junk', 'lost', 'pending']);
    const smtp = (d: ReturnType<typeof deliveryFacts>) => probeResult({ protocol: 'smtp', delivery: d });
    metrics.recordCheck(1, smtp(deliveryFacts('junk', 2500)), AT, ENDPOINT);
    metrics.recordCheck(1, smtp(deliveryFacts('pending', null)), AT, ENDPOINT);
    metrics.recordCheck(1, smtp(deliveryFacts('lost', null)), AT, ENDPOINT);
    const samples = parseExposition(await metrics.metricsText());
    for (const outcome of ['junk', 'pending', 'lost'])
      expect(value(samples, 'mailmon_delivery_checks_total', { outcome })).toBe(1);
    expect(value(samples, 'mailmon_delivery_latency_seconds_count', { folder: 'junk' })).toBe(1);
    expect(value(samples, 'mailmon_delivery_latency_seconds_sum', { folder: 'junk' })).toBe(2.5);
    expect(value(samples, 'mailmon_delivery_latency_seconds_count', { folder: 'inbox' })).toBe(0);
    // The last latency stays the last one measured: pending and lost measure nothing.
    expect(value(samples, 'mailmon_delivery_last_latency_seconds', { account_id: '1' })).toBe(2.5);
  });
});
