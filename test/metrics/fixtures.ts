// Probe results and a Metrics instance with every mailmon_ series filled, for the metrics tests and
// for checking that the dashboard and rules only name metrics that exist.
import { AccountStatus } from '../../src/accounts/types.js';
import { Metrics, type MetricsOptions } from '../../src/metrics/metrics.js';
import type { DeliveryFacts, ProbeResult, QuotaFacts, TlsFacts } from '../../src/probes/types.js';

export const ENDPOINT = { host: 'imap.example.test', port: 993 };

export function probeResult(overrides: Partial<ProbeResult> = {}): ProbeResult {
  return {
    protocol: 'imap',
    ok: true,
    code: null,
    phase: null,
    reason: null,
    durationMs: 40,
    phases: [
      { phase: 'connect', ms: 2 },
      { phase: 'tls', ms: 8 },
      { phase: 'auth', ms: 20 },
    ],
    transcript: [],
    ...overrides,
  };
}

export function failure(code: ProbeResult['code'], overrides: Partial<ProbeResult> = {}): ProbeResult {
  return probeResult({ ok: false, code, phase: 'auth', reason: 'refused', ...overrides });
}

export function tlsFacts(notAfter: string): TlsFacts {
  return {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    subject: 'CN=imap.example.test',
    issuer: 'CN=Test CA',
    subjectAltNames: ['DNS:imap.example.test'],
    validFrom: '2024-01-01T00:00:00.000Z',
    notAfter,
    authorized: true,
    authorizationError: null,
  };
}

export function newMetrics(overrides: Partial<MetricsOptions> = {}): Metrics {
  return new Metrics({
    perAccountSeries: 'all',
    collectRuntime: false,
    version: '1.2.3',
    checkIntervalSeconds: 300,
    ...overrides,
  });
}

/** A Metrics instance in which every mailmon_ metric has at least one sample. */
export function populatedMetrics(): Metrics {
  const metrics = newMetrics();
  const at = new Date('2030-06-01T12:00:00Z');
  metrics.recordCheck(
    1,
    probeResult({ tls: tlsFacts('2031-01-01T00:00:00.000Z'), quota: quotaFacts(0.95) }),
    at,
    ENDPOINT,
  );
  metrics.recordCheck(3, probeResult({ protocol: 'smtp', delivery: deliveryFacts('delivered', 1200) }), at, {
    host: 'smtp.example.test',
    port: 587,
  });
  metrics.recordCheck(2, failure('auth_rejected', { protocol: 'smtp' }), at, {
    host: 'smtp.example.test',
    port: 465,
  });
  metrics.setAccountState(1, {
    status: AccountStatus.Ok,
    errorCount: 0,
    sides: [{ protocol: 'imap', lastCheckAt: at, lastSuccessAt: at, ok: true }],
  });
  metrics.setAccountState(2, {
    status: AccountStatus.Failed,
    errorCount: 5,
    sides: [
      { protocol: 'smtp', lastCheckAt: at, lastSuccessAt: new Date('2030-06-01T10:00:00Z'), ok: false },
    ],
  });
  metrics.oauth.recordCredential(
    3,
    'smtp',
    { tokenUrl: 'https://login.example.test/tenant/oauth2/v2.0/token', clientId: 'app-1' },
    new Date('2030-06-20T00:00:00Z'),
  );
  metrics.oauth.tokenRequest('client_credentials', 'ok');
  metrics.setStatusCounts({ [AccountStatus.Ok]: 1, [AccountStatus.Failed]: 1 });
  metrics.replica.setLag(12);
  metrics.recordSweep({ startedAt: new Date(at.getTime() - 2000), finishedAt: at, checked: 2, timedOut: 1 });
  metrics.incDatabaseErrors();
  return metrics;
}

export function quotaFacts(usageRatio: number): QuotaFacts {
  return {
    root: 'User quota',
    storageUsedBytes: Math.round(usageRatio * 1024 * 1024),
    storageLimitBytes: 1024 * 1024,
    messages: null,
    messageLimit: null,
    usageRatio,
  };
}

export function deliveryFacts(outcome: DeliveryFacts['outcome'], latencyMs: number | null): DeliveryFacts {
  return {
    outcome,
    sentAt: '2030-06-01T11:59:58.000Z',
    latencyMs,
    folder: latencyMs === null ? null : outcome === 'junk' ? 'Junk' : 'INBOX',
    arrivals: latencyMs === null ? [] : [{ latencyMs, junk: outcome === 'junk', late: false }],
    pending: outcome === 'pending' ? 1 : 0,
  };
}
