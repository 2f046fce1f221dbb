// A real Prometheus scrapes a Metrics instance over HTTP and evaluates every dashboard query and
// every rule against what it scraped: evaluation errors (a many-to-many join, a wrong label) only
// show up here, not in a parse check. The daemon's own end-to-end test reuses startPrometheus.
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer } from '../peers/require.js';
import { allPanels, loadDashboard, substitute } from './dashboard.js';
import { liveMetrics, sweep } from './live-metrics.js';
import { startPrometheus, type PrometheusServer, type VectorSample } from './prometheus-server.js';

describeWithPeer('prometheus', 'Prometheus scraping mailmon metrics', () => {
  let server: Server;
  let prometheus: PrometheusServer;
  let feeder: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    const metrics = liveMetrics();
    sweep(metrics);
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      void metrics
        .metricsText()
        .then((text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no server address');
    feeder = setInterval(() => sweep(metrics), 300);
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${address.port}`],
      ruleFiles: [resolve('prometheus/mailmon.rules.yml')],
      interval: '500ms',
    });
    // Enough scrapes for rate() over the 15 s windows used below, and for the rules to evaluate.
    await waitFor(prometheus, 'count_over_time(up{job="mailmon"}[1m]) >= 5', 20_000);
  });

  afterAll(async () => {
    clearInterval(feeder);
    await prometheus?.stop();
    await new Promise((done) => server?.close(done));
  });

  it('scrapes successfully', async () => {
    expect(await values(prometheus, 'up{job="mailmon"}')).toEqual(['1']);
  });

  it('evaluates every dashboard query without error, and each returns data', async () => {
    const targets = allPanels(await loadDashboard()).flatMap((p) =>
      (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: substitute(t.expr, '15s') })),
    );
    const empty: string[] = [];
    for (const { where, expr } of targets) {
      const answer = await prometheus.query(expr);
      expect(answer.error, `${where}: ${expr}`).toBeUndefined();
      expect(answer.status, where).toBe('success');
      const result = answer.data?.result as VectorSample[];
      if (result.length === 0) empty.push(where);
    }
    expect(empty).toEqual([]);
  });

  it('fills the failing-accounts table with one row per failing side, code and status joined on', async () => {
    const dashboard = await loadDashboard();
    const table = allPanels(dashboard).find((p) => p.type === 'table' && p.title === 'Failing accounts');
    const rows = async (refId: string) => {
      const expr = substitute(table!.targets!.find((t) => t.refId === refId)!.expr);
      const answer = await prometheus.query(expr);
      return (answer.data?.result as VectorSample[])
        .map((s) => `${s.metric.account_id}/${s.metric.protocol}/${s.metric.code}=${s.value[1]}`)
        .sort();
    };
    expect(await rows('A')).toEqual(['2/smtp/auth_rejected=1', '3/imap/unknown=1']);
    expect(await rows('B')).toEqual(['2/smtp/auth_rejected=3', '3/imap/unknown=2']);
    expect(await rows('C')).toEqual(['2/smtp/auth_rejected=5', '3/imap/unknown=1']);
    // Last success: account 3 never passed, so it has none.
    expect((await rows('D')).map((r) => r.split('=')[0])).toEqual(['2/smtp/auth_rejected']);
  });

  it('evaluates every rule without error', async () => {
    await waitForRules(prometheus, 10_000);
    const unhealthy = (await prometheus.rules()).filter((r) => r.health !== 'ok');
    expect(unhealthy).toEqual([]);
  });

  it('fires the alerts this state calls for, and only those', async () => {
    // Account 2 is Failed; the certificate seen at imap.example.test expires in 10 days; database
    // errors are being counted. Only 2 of 3 accounts fail: no outage alert (fewer than 5).
    await waitForRules(prometheus, 10_000);
    const firing = await values(prometheus, 'ALERTS{alertstate="firing"}', (s) => s.metric.alertname!);
    expect([...new Set(firing)].sort()).toEqual([
      'MailmonAccountFailed',
      'MailmonCertificateExpiringSoon',
      'MailmonDatabaseErrors',
    ]);
  });
});

async function values(
  prometheus: PrometheusServer,
  expr: string,
  pick: (s: VectorSample) => string = (s) => s.value[1],
): Promise<string[]> {
  const answer = await prometheus.query(expr);
  if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error}`);
  return (answer.data?.result as VectorSample[]).map(pick);
}

async function waitFor(prometheus: PrometheusServer, expr: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await values(prometheus, expr)).length === 0) {
    if (Date.now() > deadline) throw new Error(`still empty after ${timeoutMs} ms: ${expr}`);
    await sleep(200);
  }
}

async function waitForRules(prometheus: PrometheusServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await prometheus.rules()).some((r) => r.health === 'unknown')) {
    if (Date.now() > deadline) throw new Error(`rules not evaluated within ${timeoutMs} ms`);
    await sleep(200);
  }
}
