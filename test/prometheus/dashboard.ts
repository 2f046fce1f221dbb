// Reading the Grafana dashboard in tests: its panels (rows' nested ones too), its PromQL
// expressions, and those expressions with Grafana's variables replaced so Prometheus can parse them.
import { readFile } from 'node:fs/promises';

export const DASHBOARD = 'grafana/dashboards/mailmon.json';

export interface Target {
  expr: string;
  refId: string;
  datasource?: { type?: string; uid?: string };
  instant?: boolean;
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: {
    defaults?: { links?: DataLink[] };
    overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[];
  };
}
export interface DataLink {
  title: string;
  url: string;
  targetBlank?: boolean;
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: {
    list: { name: string; type: string; query: unknown; definition?: string; current?: { value?: string } }[];
  };
}

export async function loadDashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
}

export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Grafana's variables as a query would see them: one job, and a concrete rate window. */
export function substitute(expr: string, rateInterval = '5m'): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?job\}?/g, 'mailmon');
}

/** The data links of a panel: its defaults' and those its overrides give to one field (by name). */
export function panelLinks(panel: Panel, field?: string): DataLink[] {
  if (field === undefined) return panel.fieldConfig?.defaults?.links ?? [];
  const override = panel.fieldConfig?.overrides?.find(
    (o) => o.matcher.id === 'byName' && o.matcher.options === field,
  );
  return (override?.properties.find((p) => p.id === 'links')?.value as DataLink[] | undefined) ?? [];
}
