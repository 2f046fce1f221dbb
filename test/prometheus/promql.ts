// PromQL expressions in tests: which mailmon metric names they use, and an offline parse through
// promtool (it has no "parse this query" command, but `check rules` parses every rule's expr).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promtool, type PromtoolRun } from './promtool.js';

/** mailmon_* metric names in an expression; recording-rule names (with colons) are skipped. */
export function mailmonMetricsIn(expr: string): string[] {
  return [...expr.matchAll(/(?<![\w:])mailmon_[a-zA-Z0-9_]+(?![\w:])/g)].map((m) => m[0]);
}

/**
 * Parse expressions with `promtool check rules` by making each a recording rule in a temporary
 * rules file (written as JSON, which is YAML too).
 */
export async function parseWithPromtool(exprs: readonly string[]): Promise<PromtoolRun> {
  const dir = await mkdtemp(join(tmpdir(), 'mailmon-promql-'));
  try {
    const rules = exprs.map((expr, i) => ({ record: `mailmon_test:expr_${i}`, expr }));
    const file = join(dir, 'exprs.rules.yml');
    await writeFile(file, JSON.stringify({ groups: [{ name: 'exprs', rules }] }, null, 2));
    return await promtool(['check', 'rules', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
