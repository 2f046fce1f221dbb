import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { metricNames } from '../metrics/exposition.js';
import { populatedMetrics } from '../metrics/fixtures.js';
import { describeWithPeer } from '../peers/require.js';
import { mailmonMetricsIn } from './promql.js';
import { promtool } from './promtool.js';

const RULES = 'prometheus/mailmon.rules.yml';
const RULE_TESTS = 'prometheus/mailmon.rules.test.yml';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTest {
  alertname: string;
  exp_alerts: unknown[] | null;
}

async function rules(): Promise<Rule[]> {
  const doc = parse(await readFile(RULES, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

const ALERTS = [
  'MailmonAccountFailed',
  'MailmonManyAccountsFailing',
  'MailmonCertificateExpiringSoon',
  'MailmonCertificateExpiringCritical',
  'MailmonStale',
  'MailmonScheduleLag',
  'MailmonDown',
  'MailmonDatabaseErrors',
  'MailmonMailboxNearlyFull',
  'MailmonDeliveryLost',
  'MailmonIpBanned',
  'MailmonOAuthCredentialExpiring',
];

describeWithPeer('promtool', 'Prometheus rules', () => {
  it('pass promtool check rules', async () => {
    const run = await promtool(['check', 'rules', RULES]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('pass their promtool unit tests', async () => {
    const run = await promtool(['test', 'rules', RULE_TESTS]);
    expect(run.stdout + run.stderr).toContain('SUCCESS');
    expect(run.code).toBe(0);
  });

  it('have a unit test harness that does fail on a wrong expectation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailmon-rules-'));
    try {
      await writeFile(join(dir, 'mailmon.rules.yml'), await readFile(RULES));
      const wrong = {
        rule_files: ['mailmon.rules.yml'],
        tests: [
          {
            interval: '1m',
            input_series: [{ series: 'mailmon_account_status{job="mailmon",account_id="1"}', values: '2x5' }],
            alert_rule_test: [
              {
                eval_time: '5m',
                alertname: 'MailmonAccountFailed',
                exp_alerts: [{ exp_labels: { account_id: '1' } }],
              },
            ],
          },
        ],
      };
      await writeFile(join(dir, 'wrong.test.yml'), JSON.stringify(wrong));
      const run = await promtool(['test', 'rules', join(dir, 'wrong.test.yml')]);
      expect(run.code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ship an example Prometheus config that loads them', async () => {
    const run = await promtool(['check', 'config', 'prometheus/prometheus.example.yml']);
    expect(run.code).toBe(0);
  });
});

describe('Prometheus rules: content', () => {
  it('define every alert, each with a severity, summary, description and runbook', async () => {
    const alerts = (await rules()).filter((r) => r.alert);
    expect(alerts.map((a) => a.alert).sort()).toEqual([...ALERTS].sort());
    for (const alert of alerts) {
      expect(['warning', 'critical'], alert.alert).toContain(alert.labels?.severity);
      expect(Object.keys(alert.annotations ?? {}).sort(), alert.alert).toEqual([
        'description',
        'runbook',
        'summary',
      ]);
    }
  });

  it('have a unit test where each alert fires and one where it must not', async () => {
    const doc = parse(await readFile(RULE_TESTS, 'utf8')) as { tests: { alert_rule_test?: AlertTest[] }[] };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of ALERTS) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert} fires somewhere`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert} stays silent somewhere`,
      ).toBe(true);
    }
  });

  it('use only metrics that mailmon exports', async () => {
    const exported = metricNames(await populatedMetrics().metricsText());
    const used = new Set((await rules()).flatMap((r) => mailmonMetricsIn(r.expr)));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
