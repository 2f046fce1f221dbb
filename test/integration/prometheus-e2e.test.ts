// The whole monitoring path, end to end: the daemon (real scheduler, SQLite) checks a real Dovecot
// and a real SMTP server, a real Prometheus scrapes its /metrics and evaluates mailmon's rules, and
// every dashboard and rule expression is run against what it scraped. Then a restart (values come
// back from the database before any sweep) and a deletion (the account's series disappear).
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { AccountInput, ServiceAuthInput } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Core } from '../../src/app.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { sqliteTestDb, type TestDb } from '../helpers/databases.js';
import { testCore, type LogCapture } from '../helpers/core.js';
import { find, mailmonPart, parseExposition, value } from '../metrics/exposition.js';
import { quotaConf } from '../peers/dovecot-conf.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { freePorts } from '../peers/ports.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { allPanels, loadDashboard, substitute } from '../prometheus/dashboard.js';
import {
  startPrometheus,
  type PrometheusServer,
  type VectorSample,
} from '../prometheus/prometheus-server.js';
import { promtool } from '../prometheus/promtool.js';

const GOOD_PW = 'e2e-good-canary-pw-7d1a';
const WRONG_PW = 'e2e-wrong-canary-pw-3b9e';
const RULES = resolve('prometheus/mailmon.rules.yml');
/** Covers every scrape of the test, so increase() and rate() see the whole run. */
const WINDOW = '1m';
const CHECK_INTERVAL_S = 10;

describeWithPeer('prometheus', 'mailmon end to end with Prometheus', () =>
  describeWithPeer('dovecot', 'daemon, Dovecot, SMTP and Prometheus', () => {
    let db: TestDb;
    let dovecot: Dovecot;
    let smtp: TestSmtpServer;
    let prometheus: PrometheusServer;
    let core: Core;
    let logs: LogCapture;
    let daemon: Daemon | undefined;
    let port: number;
    const secretKey = generateKeyLine('e2e');
    const ids = { good: 0, bad: 0 };
    /** When the accounts were stored, so first due (Unix seconds). */
    let savedAt = 0;

    const openCore = async (overrides: Record<string, unknown> = {}) => {
      ({ core, logs } = await testCore(db.url, {
        'secrets.key': secretKey,
        'http.port': port,
        'scheduler.checkIntervalSeconds': CHECK_INTERVAL_S,
        'status.failedThreshold': 2,
        ...overrides,
      }));
    };
    const scrape = () => httpText('GET', `${daemon!.url}/metrics`);

    beforeAll(async () => {
      [port] = (await freePorts(1)) as [number];
      [db, dovecot, smtp, prometheus] = await Promise.all([
        sqliteTestDb(),
        // The quota plugin and an SMTP server that delivers into alice's INBOX: the good account's
        // checks read a quota and run a delivery round trip, so the mailbox-health panels have data.
        startDovecot({
          users: [{ user: 'alice', pass: GOOD_PW }],
          extraConf: quotaConf({ storageKib: 10240 }),
        }),
        startSmtpServer({
          users: [{ user: 'alice', pass: GOOD_PW }],
          onMessage: (msg) => dovecot.deliver('alice', msg.data),
        }),
        startPrometheus({ targets: [`127.0.0.1:${port}`], ruleFiles: [RULES], interval: '500ms' }),
      ]);
      await openCore();
      savedAt = Date.now() / 1000;
      [ids.good, ids.bad] = (await core.repo.saveAccounts([
        account('good@example.test', GOOD_PW),
        account('bad@example.test', GOOD_PW),
      ])) as [number, number];
      daemon = await startDaemon(core);
    });

    afterAll(async () => {
      // Between the restart's two daemons only a core may be open.
      await (daemon ? daemon.stop() : core?.close());
      await Promise.all([prometheus?.stop(), dovecot?.stop(), smtp?.stop(), db?.cleanup()]);
    });

    const side = (password: string, imap: boolean): ServiceAuthInput => ({
      server: '127.0.0.1',
      port: imap ? dovecot.imapsPort : smtp.port,
      authType: 'password',
      username: 'alice',
      password,
      security: imap ? 'tls' : 'starttls',
      acceptUnverifiedCert: false,
      caPem: imap ? dovecot.caPem : smtp.caPem,
    });
    const account = (emailAddress: string, imapPassword: string, emailAccountId?: number): AccountInput => ({
      emailAccountId,
      emailAddress,
      associateId: 1,
      incoming: side(imapPassword, true),
      outgoing: side(GOOD_PW, false),
      delivery: { enabled: true, to: null },
    });
    const series = (name: string, labels: Record<string, string>) =>
      values(prometheus, selector(name, labels));

    it(
      'checks on schedule: the good account stays Ok, a wrong password fails, then Failed at the re-check',
      { timeout: 45_000 },
      async () => {
        // The first sweep (at start-up) finds both accounts Ok: the failing one has a last success.
        let samples = await until(async () => {
          const now = parseExposition(await scrape());
          const statuses = find(now, 'mailmon_account_status').map((s) => s.value);
          return statuses.length === 2 && statuses.every((v) => v === AccountStatus.Ok) ? now : null;
        });
        const good = { account_id: String(ids.good) };
        const bad = { account_id: String(ids.bad) };
        const firstCheck = value(samples, 'mailmon_last_check_timestamp_seconds', {
          ...good,
          protocol: 'imap',
        });
        // Then its stored password goes wrong (as when a user changes it at the provider and mailmon
        // keeps the old one). Saving makes the account due at once (the next 1 s tick); the scheduled
        // re-check comes an interval later and makes it Failed (threshold 2).
        await core.repo.saveAccounts([account('bad@example.test', WRONG_PW, ids.bad)]);
        await waitFor(prometheus, `mailmon_account_status{account_id="${ids.bad}"} == 3`, 25_000);

        samples = parseExposition(await scrape());
        expect(value(samples, 'mailmon_account_status', good)).toBe(AccountStatus.Ok);
        expect(value(samples, 'mailmon_account_consecutive_failures', bad)).toBe(2);
        expect(find(samples, 'mailmon_check_failure_info').map((s) => s.labels)).toEqual([
          { ...bad, protocol: 'imap', code: 'auth_rejected' },
        ]);
        expect(value(samples, 'mailmon_check_success', { ...bad, protocol: 'smtp' })).toBe(1);
        // The good account was checked again by the scheduler, not only at start-up.
        const recheck = value(samples, 'mailmon_last_check_timestamp_seconds', { ...good, protocol: 'imap' });
        // Due one interval after it was first due (when it was stored), however late the first
        // check ran: lateness does not push the schedule back (checks/next-due.ts).
        expect(recheck).toBeGreaterThan(firstCheck);
        expect(recheck).toBeGreaterThanOrEqual(savedAt + CHECK_INTERVAL_S - 0.5);
        expect(value(samples, 'mailmon_checks_total', { protocol: 'imap', code: 'auth_rejected' })).toBe(2);
        expect(value(samples, 'mailmon_accounts', { status: 'failed' })).toBe(1);
        expect(logs.text).not.toContain(WRONG_PW);
        expect(logs.text).not.toContain(GOOD_PW);
      },
    );

    it("mailmon's own exposition passes promtool check metrics", async () => {
      const text = mailmonPart(await scrape());
      expect(text).toContain('mailmon_check_duration_seconds_bucket');
      const run = await promtool(['check', 'metrics'], text);
      expect(run.stdout + run.stderr).toBe('');
      expect(run.code).toBe(0);
    });

    it('every dashboard and rule expression parses and evaluates in Prometheus', async () => {
      const exprs = [...(await dashboardTargets()).map((t) => t.expr), ...(await ruleExprs())];
      expect(exprs.length).toBeGreaterThan(30);
      for (const expr of exprs) {
        const answer = await prometheus.query(expr);
        expect(answer.error, expr).toBeUndefined();
        expect(answer.status, expr).toBe('success');
      }
      const rules = await prometheus.rules();
      expect(rules.length).toBe((await ruleExprs()).length);
      expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
    });

    it("every dashboard panel's query returns data", async () => {
      const empty: string[] = [];
      for (const { where, expr } of await dashboardTargets()) {
        const answer = await prometheus.query(expr);
        if ((answer.data?.result as VectorSample[]).length === 0) empty.push(where);
      }
      expect(empty).toEqual([]);
    });

    it('the key panels show the real state', async () => {
      const panel = async (title: string, refId = 'A') => {
        const target = (await dashboardTargets()).find((t) => t.where === `${title} ${refId}`);
        const answer = await prometheus.query(target!.expr);
        return answer.data?.result as VectorSample[];
      };
      const one = async (title: string) => Number((await panel(title))[0]!.value[1]);
      expect(await one('Ok')).toBe(1);
      expect(await one('Failed')).toBe(1);
      expect(await one('Failing')).toBe(0);
      // Failing accounts table: the failing side, its code, status 3, two failures, last success.
      const row = (await panel('Failing accounts', 'A')).map((s) => s.metric);
      expect(row).toEqual([{ account_id: String(ids.bad), protocol: 'imap', code: 'auth_rejected' }]);
      expect((await panel('Failing accounts', 'B'))[0]!.value[1]).toBe('3');
      expect((await panel('Failing accounts', 'C'))[0]!.value[1]).toBe('2');
      const lastSuccessMs = Number((await panel('Failing accounts', 'D'))[0]!.value[1]);
      expect(Date.now() - lastSuccessMs).toBeGreaterThan(CHECK_INTERVAL_S * 1000);
      const codes = (await panel('Failure codes')).map((s) => `${s.metric.protocol}/${s.metric.code}`);
      expect(codes).toEqual(['imap/auth_rejected']);
      const phases = new Set((await panel('Check latency by phase (p95)')).map((s) => s.metric.phase));
      expect([...phases]).toEqual(expect.arrayContaining(['connect', 'tls', 'auth']));
      const certs = (await panel('Certificates expiring soonest')).map((s) => s.metric.port).sort();
      expect(certs).toEqual([String(dovecot.imapsPort), String(smtp.port)].sort());
      expect(await one('Up')).toBe(1);
      // The one daemon leads: nothing overdue, and the stale alert compares the lag with this.
      expect(await one('Schedule lag')).toBeLessThan(5);
      expect(await one('Check interval')).toBe(CHECK_INTERVAL_S);
      expect(await one('Replicas')).toBe(1);
      expect(await one('Database errors (1 h)')).toBe(0);
    });

    it('fires MailmonAccountFailed for the failed account, and no other alert', async () => {
      await waitFor(prometheus, 'ALERTS{alertstate="firing"}', 5_000);
      const firing = await values(prometheus, 'ALERTS{alertstate="firing"}');
      expect(firing.map((s) => `${s.metric.alertname}/${s.metric.account_id}`)).toEqual([
        `MailmonAccountFailed/${ids.bad}`,
      ]);
    });

    it('a restarted daemon exports the stored per-account values before its first sweep', async () => {
      // Stop the claim loop first, so nothing changes between this scrape and the restart.
      await core.claimLoop.stop();
      const before = await scrape();
      await daemon!.stop();
      daemon = undefined;
      // Same port: Prometheus keeps scraping across the restart. No scheduler: nothing is checked.
      await openCore({ 'scheduler.enabled': false });
      daemon = await startDaemon(core);
      const after = await scrape();
      const samples = parseExposition(after);
      expect(value(samples, 'mailmon_sweeps_total')).toBe(0);
      expect(value(samples, 'mailmon_last_sweep_timestamp_seconds')).toBe(0);
      // The mailbox-health gauges (quota, last delivery latency) are not restored from the database
      // yet: they come back with each account's first check since start (see docs/operating.md).
      const restored = (text: string) => perAccountLines(text).filter((l) => !MAILBOX_HEALTH.test(l));
      expect(restored(after)).toEqual(restored(before));
      expect(perAccountLines(before).filter((l) => MAILBOX_HEALTH.test(l)).length).toBeGreaterThan(0);
      const bad = { account_id: String(ids.bad) };
      expect(value(samples, 'mailmon_account_consecutive_failures', bad)).toBe(2);
      for (const protocol of ['imap', 'smtp']) {
        expect(value(samples, 'mailmon_last_check_timestamp_seconds', { ...bad, protocol })).toBeGreaterThan(
          Date.now() / 1000 - 60,
        );
      }
      expect(find(samples, 'mailmon_accounts')).toEqual(find(parseExposition(before), 'mailmon_accounts'));
      // Certificate expiry too (both servers' certificates), so certificate alerts survive a restart.
      const certificates = find(samples, 'mailmon_tls_certificate_expiry_timestamp_seconds');
      expect(certificates.length).toBeGreaterThanOrEqual(2);
      expect(certificates).toEqual(
        find(parseExposition(before), 'mailmon_tls_certificate_expiry_timestamp_seconds'),
      );
    });

    it('deleting an account removes its series from /metrics and, at the next scrape, from Prometheus', async () => {
      // The restart left a scrape gap that marked every series stale; wait until Prometheus has
      // scraped the restarted daemon, or the deleted series would be "absent" before the deletion.
      await waitFor(prometheus, 'count(mailmon_account_status{job="mailmon"}) == 2', 5_000);
      await httpText('DELETE', `${daemon!.url}/api/v1/accounts/${ids.bad}`);
      const samples = parseExposition(await scrape());
      expect(samples.filter((s) => s.labels.account_id === String(ids.bad))).toEqual([]);
      expect(find(samples, 'mailmon_account_status').map((s) => s.labels.account_id)).toEqual([
        String(ids.good),
      ]);
      expect(value(samples, 'mailmon_accounts', { status: 'deleted' })).toBe(1);
      expect(value(samples, 'mailmon_accounts', { status: 'failed' })).toBe(0);

      const gone = `absent(${selector('mailmon_account_status', { account_id: String(ids.bad) })})`;
      // One expression, so "bad gone" and "good still there" are read from the same scrape.
      const good = selector('mailmon_account_status', { account_id: String(ids.good) });
      await waitFor(prometheus, `${gone} and on() count(${good}) == 1`, 5_000);
      expect(await series('mailmon_account_status', { account_id: String(ids.good) })).toHaveLength(1);
      await waitFor(
        prometheus,
        'absent(ALERTS{alertname="MailmonAccountFailed",alertstate="firing"})',
        5_000,
      );
    });
  }),
);

/**
 * One request on a fresh connection. fetch() would reuse a keep-alive socket to the stopped daemon
 * (same port) and fail with "other side closed".
 */
function httpText(method: string, url: string): Promise<string> {
  return new Promise((done, fail) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () =>
        res.statusCode === 200 ? done(body) : fail(new Error(`${method} ${url}: ${res.statusCode} ${body}`)),
      );
    });
    req.on('error', fail).end();
  });
}

function selector(name: string, labels: Record<string, string>): string {
  const matchers = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return `${name}{${['job="mailmon"', ...matchers].join(',')}}`;
}

/** Dashboard targets with Grafana's variables replaced; `where` is "panel title refId". */
async function dashboardTargets(): Promise<{ where: string; expr: string }[]> {
  return allPanels(await loadDashboard()).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: substitute(t.expr, WINDOW) })),
  );
}

async function ruleExprs(): Promise<string[]> {
  const doc = parse(await readFile(RULES, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

/** The per-account series of an exposition, sorted (their order depends on insertion). */
const MAILBOX_HEALTH = /^mailmon_(mailbox_quota_usage_ratio|delivery_last_latency_seconds)\{/;

function perAccountLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.includes('account_id="'))
    .sort();
}

/** Polls `probe` every 100 ms until it returns non-null. */
async function until<T>(probe: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result !== null) return result;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function values(prometheus: PrometheusServer, expr: string): Promise<VectorSample[]> {
  const answer = await prometheus.query(expr);
  if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error}`);
  return answer.data?.result as VectorSample[];
}

async function waitFor(prometheus: PrometheusServer, expr: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await values(prometheus, expr)).length === 0) {
    if (Date.now() > deadline) throw new Error(`still empty after ${timeoutMs} ms: ${expr}`);
    await sleep(200);
  }
}
