// Mailbox-health metrics (issue 12): quota usage per account and its aggregate, and the delivery
// round trip's latency and outcomes. Per-account values are rendered at scrape time like the
// other per-account families (account-exposition.ts explains why), under the same cap.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DELIVERY_OUTCOMES } from '../probes/mailbox-facts.js';
import type { ProbeResult } from '../probes/types.js';
import type { PerAccountSeries } from './account-series.js';

/** 1 s .. 2 h: a healthy round trip takes seconds, greylisting minutes, a lost message never ends. */
export const DELIVERY_LATENCY_BUCKETS = [1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200];

const FOLDERS = ['inbox', 'junk'] as const;

export class MailboxHealthMetrics {
  /** Every account's last quota usage, capped or not: the aggregate counts them all. */
  private readonly quota = new Map<number, number>();
  private readonly lastLatency = new Map<number, number>();
  private readonly max: number;
  private readonly deliveries: Counter<'outcome'>;
  private readonly latency: Histogram<'folder'>;

  constructor(
    registry: Registry,
    mode: PerAccountSeries,
    private readonly warningRatio: number,
  ) {
    this.max = mode === 'all' ? Infinity : mode === 'none' ? 0 : mode.max;
    const registers = [registry];
    const quota = this.quota;
    new Gauge({
      name: 'mailmon_mailbox_quota_warning_accounts',
      help: 'Accounts whose mailbox quota usage is at or above the warning level (probes.quotaWarningPercent), full ones included.',
      registers,
      collect() {
        let n = 0;
        for (const ratio of quota.values()) if (ratio >= warningRatio) n += 1;
        this.set(n);
      },
    });
    new Gauge({
      name: 'mailmon_mailbox_quota_warning_ratio',
      help: 'The configured quota warning level as a ratio (probes.quotaWarningPercent / 100).',
      registers,
    }).set(warningRatio);
    this.deliveries = new Counter({
      name: 'mailmon_delivery_checks_total',
      help: 'Delivery round trips by outcome (delivered, junk, pending, lost).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of DELIVERY_OUTCOMES) this.deliveries.inc({ outcome }, 0);
    this.latency = new Histogram({
      name: 'mailmon_delivery_latency_seconds',
      help: 'Send-to-arrival time of delivery probe messages (late arrivals included), by folder (inbox, junk).',
      labelNames: ['folder'],
      buckets: DELIVERY_LATENCY_BUCKETS,
      registers,
    });
    for (const folder of FOLDERS) this.latency.zero({ folder });
  }

  /**
   * One check's mailbox facts: the delivery outcome and latencies are this replica's work (always
   * counted); the per-account values only with `perAccount` (the leader's export).
   */
  record(accountId: number, result: ProbeResult, perAccount = true): void {
    if (perAccount && result.quota) this.quota.set(accountId, result.quota.usageRatio);
    const delivery = result.delivery;
    if (!delivery) return;
    this.deliveries.inc({ outcome: delivery.outcome });
    for (const { latencyMs, junk } of delivery.arrivals) {
      if (latencyMs !== null) this.latency.observe({ folder: junk ? 'junk' : 'inbox' }, latencyMs / 1000);
    }
    if (perAccount && delivery.latencyMs !== null) this.lastLatency.set(accountId, delivery.latencyMs / 1000);
  }

  /** An account's values as stored (the leader's view of checks any replica ran). */
  restore(accountId: number, quotaRatio: number | null, deliveryLatencyMs: number | null): void {
    if (quotaRatio !== null) this.quota.set(accountId, quotaRatio);
    if (deliveryLatencyMs !== null) this.lastLatency.set(accountId, deliveryLatencyMs / 1000);
  }

  remove(accountId: number): void {
    this.quota.delete(accountId);
    this.lastLatency.delete(accountId);
  }

  retain(keep: ReadonlySet<number>): void {
    this.retainWhere((id) => keep.has(id));
  }

  retainWhere(keep: (id: number) => boolean): void {
    for (const map of [this.quota, this.lastLatency])
      for (const id of [...map.keys()]) if (!keep(id)) map.delete(id);
  }

  /** The per-account families, for the lowest `max` ids of each (the same cap as the others). */
  render(): string {
    return (
      family(
        'mailmon_mailbox_quota_usage_ratio',
        'Quota usage of the account mailbox (highest of storage and messages), 1 = full; absent when the server reports no quota.',
        this.selected(this.quota),
      ) +
      family(
        'mailmon_delivery_last_latency_seconds',
        'Send-to-arrival time of the last delivery probe message that arrived, seconds.',
        this.selected(this.lastLatency),
      )
    );
  }

  private selected(map: Map<number, number>): [number, number][] {
    const all = [...map.keys()];
    const ids = this.max === Infinity ? all : all.sort((a, b) => a - b).slice(0, this.max);
    return ids.map((id) => [id, map.get(id) as number]);
  }
}

function family(name: string, help: string, values: [number, number][]): string {
  let text = `\n# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
  for (const [id, value] of values) text += `${name}{account_id="${id}"} ${value}\n`;
  return text;
}
