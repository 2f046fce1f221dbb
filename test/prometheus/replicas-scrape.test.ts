// The dashboard and the rules over three replicas of one job, scraped by a real Prometheus: the
// leader exports the per-account series, the status counts and the lag, the two others only their
// own work. Every query must still evaluate and answer with data, the fleet-wide numbers must come
// out once (not three times), and the per-replica panels must show each replica.
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Metrics } from '../../src/metrics/metrics.js';
import { describeWithPeer } from '../peers/require.js';
import { allPanels, loadDashboard, substitute } from './dashboard.js';
import { liveMetrics, sweep } from './live-metrics.js';
import { startPrometheus, type PrometheusServer, type VectorSample } from './prometheus-server.js';

async function serve(metrics: Metrics): Promise<{ server: Server; target: string }> {
  const server = createServer((req, res) => {
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
  return { server, target: `127.0.0.1:${address.port}` };
}

describeWithPeer('prometheus', 'Prometheus scraping three replicas', () => {
  const fleet = [liveMetrics('leader', 3), liveMetrics('follower', 3), liveMetrics('follower', 3)];
  let servers: { server: Server; target: string }[] = [];
  let prometheus: PrometheusServer;
  let feeder: NodeJS.Timeout | undefined;

  const query = async (expr: string): Promise<VectorSample[]> => {
    const answer = await prometheus.query(expr);
    if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error}`);
    return answer.data?.result as VectorSample[];
  };
  const panelTargets = async () =>
    allPanels(await loadDashboard()).flatMap((p) =>
      (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: substitute(t.expr, '15s') })),
    );
  const panel = async (title: string, refId = 'A') => {
    const target = (await panelTargets()).find((t) => t.where === `${title} ${refId}`);
    if (!target) throw new Error(`no panel ${title} ${refId}`);
    return query(target.expr);
  };

  beforeAll(async () => {
    for (const metrics of fleet) sweep(metrics);
    servers = await Promise.all(fleet.map(serve));
    feeder = setInterval(() => fleet.forEach(sweep), 300);
    prometheus = await startPrometheus({
      targets: servers.map((s) => s.target),
      ruleFiles: [resolve('prometheus/mailmon.rules.yml')],
      interval: '500ms',
    });
    const deadline = Date.now() + 20_000;
    while ((await query('count_over_time(up{job="mailmon"}[1m]) >= 5')).length < 3) {
      if (Date.now() > deadline) throw new Error('three targets not scraped 5 times within 20 s');
      await sleep(200);
    }
  });

  afterAll(async () => {
    clearInterval(feeder);
    await prometheus?.stop();
    await Promise.all(servers.map(({ server }) => new Promise((done) => server.close(done))));
  });

  it('every dashboard query evaluates and answers with data', async () => {
    const empty: string[] = [];
    for (const { where, expr } of await panelTargets()) {
      const answer = await prometheus.query(expr);
      expect(answer.error, `${where}: ${expr}`).toBeUndefined();
      if ((answer.data?.result as VectorSample[]).length === 0) empty.push(where);
    }
    expect(empty).toEqual([]);
  });

  it('fleet-wide panels count each account once, per-replica panels show each replica', async () => {
    const one = async (title: string) => {
      const result = await panel(title);
      expect(result, title).toHaveLength(1);
      return Number(result[0]!.value[1]);
    };
    expect(await one('Ok')).toBe(1);
    expect(await one('Failing')).toBe(1);
    expect(await one('Failed')).toBe(1);
    expect(await one('Monitored')).toBe(3);
    expect(await one('Replicas')).toBe(3);
    expect(await one('Schedule lag')).toBe(2);
    // One row per failing side, not one per replica.
    const rows = (await panel('Failing accounts', 'A')).map(
      (s) => `${s.metric.account_id}/${s.metric.protocol}`,
    );
    expect(rows.sort()).toEqual(['2/smtp', '3/imap']);
    const leader = (await panel('Leader')).map((s) => s.metric.instance);
    expect(leader).toEqual([servers[0]!.target]);
    const perReplica = await panel('Checks per second by replica', 'A');
    expect(perReplica.map((s) => s.metric.instance).sort()).toEqual(servers.map((s) => s.target).sort());
    // The sum over replicas is every replica's own checks once: what `sum without (instance)` gives.
    // (Compared inside one query: separate queries are evaluated at different instants.)
    const expr = async (refId: string) =>
      (await panelTargets()).find((t) => t.where === `Checks per second by replica ${refId}`)!.expr;
    const [all, each] = [await expr('B'), await expr('A')];
    const [diff] = await query(`(${all}) - sum(${each})`);
    expect(Math.abs(Number(diff!.value[1]))).toBeLessThan(1e-9);
    const without = substitute(
      'sum(sum without (instance) (rate(mailmon_checks_total{job=~"$job"}[$__rate_interval])))',
      '15s',
    );
    const [same] = await query(`(${without}) - (${all})`);
    expect(Math.abs(Number(same!.value[1]))).toBeLessThan(1e-9);
    expect(Number((await query(all))[0]!.value[1])).toBeGreaterThan(0);
    expect((await panel('Checks in flight by replica')).length).toBe(3);
  });

  it('evaluates every rule without error and fires each alert once, not once per replica', async () => {
    const deadline = Date.now() + 10_000;
    while ((await prometheus.rules()).some((r) => r.health === 'unknown')) {
      if (Date.now() > deadline) throw new Error('rules not evaluated within 10 s');
      await sleep(200);
    }
    expect((await prometheus.rules()).filter((r) => r.health !== 'ok')).toEqual([]);
    const firing = (await query('ALERTS{alertstate="firing"}')).map(
      (s) => `${s.metric.alertname}/${s.metric.account_id ?? s.metric.instance ?? ''}`,
    );
    // Database errors are each replica's own (one alert per instance); the rest are the fleet's.
    expect(firing.filter((f) => !f.startsWith('MailmonDatabaseErrors/')).sort()).toEqual([
      'MailmonAccountFailed/2',
      'MailmonCertificateExpiringSoon/',
    ]);
    expect(firing.filter((f) => f.startsWith('MailmonDatabaseErrors/'))).toHaveLength(3);
  });
});
