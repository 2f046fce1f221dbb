import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { metricNames } from '../metrics/exposition.js';
import { populatedMetrics } from '../metrics/fixtures.js';
import { describeWithPeer } from '../peers/require.js';
import { startApi } from '../http/helpers.js';
import { allPanels, loadDashboard, panelLinks, substitute } from './dashboard.js';
import { mailmonMetricsIn, parseWithPromtool } from './promql.js';

const DS_UID = '${DS_PROMETHEUS}';

async function exprs(): Promise<string[]> {
  const panels = allPanels(await loadDashboard());
  return panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

describe('Grafana dashboard', () => {
  it('has a Prometheus datasource variable that every panel and query uses', async () => {
    const dashboard = await loadDashboard();
    const variable = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of allPanels(dashboard).filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DS_UID });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: DS_UID });
      }
    }
  });

  it('answers the questions ops ask, on one screen', async () => {
    const titles = allPanels(await loadDashboard()).map((p) => p.title);
    for (const title of [
      'Ok',
      'Failing',
      'Failed',
      'Accounts by status',
      'Failing accounts',
      'Failure codes',
      'Check latency by phase (p95)',
      'Certificates expiring soonest',
      'Schedule lag',
      'Schedule lag over time',
      'Check interval',
      'Replicas',
      'Leader',
      'Checks per second by replica',
      'Database errors (1 h)',
      'Up',
    ]) {
      expect(titles).toContain(title);
    }
  });

  it('has unique panel ids and a layout inside the 24-column grid', async () => {
    const panels = allPanels(await loadDashboard());
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const { title, gridPos } of panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
    }
  });

  it('queries only metrics that mailmon exports (and Prometheus its up)', async () => {
    const exported = metricNames(await populatedMetrics().metricsText());
    const dashboard = await loadDashboard();
    const job = dashboard.templating.list.find((v) => v.name === 'job');
    const used = new Set([...(await exprs()), job?.definition ?? ''].flatMap(mailmonMetricsIn));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('leaves no Grafana variable unreplaced for Prometheus', async () => {
    for (const expr of await exprs()) expect(substitute(expr)).not.toContain('$');
  });
});

describe('Grafana dashboard: links into the console', () => {
  it('has a Console URL variable with the default listener as its value', async () => {
    const variable = (await loadDashboard()).templating.list.find((v) => v.name === 'console_url');
    expect(variable).toMatchObject({ type: 'textbox', query: 'http://localhost:9187' });
    expect(variable?.current?.value).toBe('http://localhost:9187');
  });

  it('the failing-accounts table and the status panels link to console pages that exist', async () => {
    const panels = allPanels(await loadDashboard());
    const byTitle = (title: string, type: string) =>
      panels.find((p) => p.title === title && p.type === type)!;
    const accountLinks = panelLinks(byTitle('Failing accounts', 'table'), 'Account');
    expect(accountLinks.map((l) => l.url)).toEqual(['${console_url}/ui/accounts/${__value.raw}']);
    const statusLinks = ['Ok', 'Failing', 'Failed', 'Unknown', 'Monitored'].flatMap((title) =>
      panelLinks(byTitle(title, 'stat')).map((l) => l.url),
    );
    expect(statusLinks).toHaveLength(5);

    // Follow each link on a real daemon's console, as Grafana would fill it in.
    const api = await startApi({ tokens: [] });
    try {
      const created = await api.request('POST', '/api/v1/accounts', {
        body: {
          emailAddress: 'linked@example.test',
          incoming: { server: '127.0.0.1', port: 9, security: 'none', username: 'u', password: 'pw' },
        },
      });
      const id = String(created.json.id);
      for (const url of [...accountLinks.map((l) => l.url), ...statusLinks]) {
        const target = url.replace('${console_url}', api.url).replace('${__value.raw}', id);
        const response = await fetch(target);
        const text = await response.text();
        expect(response.status, target).toBe(200);
        if (url.includes('/accounts/')) expect(text).toContain('<h1>linked@example.test</h1>');
        else expect(text).toContain('<h1>Accounts</h1>');
      }
    } finally {
      await api.close();
    }
  });
});

describeWithPeer('promtool', 'Grafana dashboard: PromQL', () => {
  it('every expression parses', async () => {
    const all = (await exprs()).map((e) => substitute(e));
    expect(all.length).toBeGreaterThan(20);
    const run = await parseWithPromtool(all);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`SUCCESS: ${all.length} rules found`);
    expect(run.code).toBe(0);
  });

  it('the parse check rejects a broken expression', async () => {
    const run = await parseWithPromtool(['sum by (job (mailmon_accounts)']);
    expect(run.code).not.toBe(0);
  });
});

describe('Grafana provisioning', () => {
  it('loads the dashboards directory from the path grafana/README.md tells to mount', async () => {
    const provider = parse(await readFile('grafana/provisioning/dashboards/mailmon.yml', 'utf8')) as {
      providers: { type: string; options: { path: string } }[];
    };
    const [file] = provider.providers;
    expect(file?.type).toBe('file');
    const path = file!.options.path;
    expect(path).toMatch(/\/dashboards$/);
    const readme = await readFile('grafana/README.md', 'utf8');
    // The whole grafana/ directory is mounted at the provider path's parent.
    expect(readme).toContain(`./grafana:${path.replace(/\/dashboards$/, '')}`);
  });

  it('provisions a Prometheus datasource', async () => {
    const doc = parse(await readFile('grafana/provisioning/datasources/prometheus.yml', 'utf8')) as {
      datasources: { type: string; url: string }[];
    };
    expect(doc.datasources.map((d) => d.type)).toEqual(['prometheus']);
    expect(doc.datasources[0]!.url).toMatch(/^https?:\/\//);
  });
});
