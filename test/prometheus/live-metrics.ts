// Metrics as a running daemon fills them, for the tests that let a real Prometheus scrape them.
import { AccountStatus } from '../../src/accounts/types.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import {
  deliveryFacts,
  ENDPOINT,
  failure,
  newMetrics,
  probeResult,
  quotaFacts,
  tlsFacts,
} from '../metrics/fixtures.js';

const DAY_MS = 86_400_000;

/**
 * Accounts as a running daemon would report them: 1 ok, 2 Failed (auth), 3 Failing (no code). The
 * leader (a single daemon leads) exports them, with the schedule lag; a follower of `replicas` only
 * its own work.
 */
export function liveMetrics(role: 'leader' | 'follower' = 'leader', replicas = 1): Metrics {
  const metrics = newMetrics({ startedAt: new Date(Date.now() - 60_000) });
  metrics.replica.replicas.set(replicas);
  if (role === 'follower') metrics.setAccountExport(false);
  else {
    metrics.replica.leader.set(1);
    metrics.replica.setLag(2);
  }
  const now = new Date();
  const tls = tlsFacts(new Date(Date.now() + 10 * DAY_MS).toISOString());
  // Half full: under the warning level, so MailmonMailboxNearlyFull stays quiet.
  metrics.recordCheck(1, probeResult({ tls, quota: quotaFacts(0.5) }), now, ENDPOINT);
  metrics.setAccountState(1, {
    status: AccountStatus.Ok,
    errorCount: 0,
    sides: [{ protocol: 'imap', lastCheckAt: now, lastSuccessAt: now, ok: true }],
  });
  metrics.recordCheck(2, failure('auth_rejected', { protocol: 'smtp' }), now, {
    host: 'smtp.example.test',
    port: 465,
  });
  metrics.setAccountState(2, {
    status: AccountStatus.Failed,
    errorCount: 5,
    sides: [{ protocol: 'smtp', lastCheckAt: now, lastSuccessAt: new Date(Date.now() - DAY_MS), ok: false }],
  });
  metrics.setAccountState(3, {
    status: AccountStatus.Failing,
    errorCount: 1,
    sides: [{ protocol: 'imap', lastCheckAt: now, lastSuccessAt: null, ok: false }],
  });
  metrics.setStatusCounts({ [AccountStatus.Ok]: 1, [AccountStatus.Failing]: 1, [AccountStatus.Failed]: 1 });
  return metrics;
}

/** One more sweep's worth of activity, so counters and histograms move between scrapes. */
export function sweep(metrics: Metrics): void {
  const now = new Date();
  metrics.recordCheck(
    1,
    probeResult({ tls: tlsFacts(new Date(Date.now() + 10 * DAY_MS).toISOString()) }),
    now,
    ENDPOINT,
  );
  metrics.recordCheck(2, failure('auth_rejected', { protocol: 'smtp' }), now, {
    host: 'smtp.example.test',
    port: 465,
  });
  // A delivery round trip of account 1 that arrived (in the INBOX): none lost, no alert.
  metrics.recordCheck(1, probeResult({ protocol: 'smtp', delivery: deliveryFacts('delivered', 1500) }), now, {
    host: 'smtp.example.test',
    port: 587,
  });
  metrics.recordSweep({ startedAt: new Date(Date.now() - 1500), finishedAt: now, checked: 2, timedOut: 1 });
  metrics.replica.claims.inc(2);
  metrics.replica.inFlight.set(1);
  metrics.incDatabaseErrors();
}
