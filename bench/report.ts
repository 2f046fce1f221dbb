// Rows → the printed table and the markdown results file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { median } from './measure.js';
import type { Measured } from './jobs.js';
import { ROOT } from './measure.js';

export interface Row extends Measured {
  phase: string;
  tool: string;
  accounts: number;
  concurrency: number;
  rep: number;
  /** Daemon rows: GET /metrics size and timings. */
  metrics?: { bytes: number; duringMs: number; afterMs: number };
}

export const perSecond = (r: Measured): number => r.checks / (r.wallMs / 1000);
export const cpuPerCheck = (r: Measured): number => r.cpuMs / Math.max(1, r.checks);

const f = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const range = (values: number[], digits = 0): string => {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '–';
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return f(lo, digits) === f(hi, digits) ? f(lo, digits) : `${f(lo, digits)}–${f(hi, digits)}`;
};

function groups(rows: Row[]): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.phase}|${r.tool}|${r.accounts}|${r.concurrency}`;
    out.set(key, [...(out.get(key) ?? []), r]);
  }
  return out;
}

/** Median checks/s of `tool` in the same phase, accounts and concurrency (for the ratio column). */
function floorRate(rows: Row[], r: Row, floor: string): number {
  return median(
    rows
      .filter(
        (x) =>
          x.phase === r.phase &&
          x.tool === floor &&
          x.accounts === r.accounts &&
          x.concurrency === r.concurrency,
      )
      .map(perSecond),
  );
}

export function throughputTable(rows: Row[], phase: string, floor: string, floorLabel: string): string {
  const head =
    `| tool | accounts | C | checks/s | × ${floorLabel} | CPU ms/check | peak RSS MB | DB stmts/check | DB commits/check | ok/checks | wall s |\n` +
    '|---|---|---|---|---|---|---|---|---|---|---|\n';
  const lines: string[] = [];
  for (const group of groups(rows.filter((r) => r.phase === phase)).values()) {
    const r0 = group[0]!;
    const ratio = group.map((r) => perSecond(r) / floorRate(rows, r, floor));
    const stmts = group.map((r) => (r.statements === undefined ? NaN : r.statements / Math.max(1, r.checks)));
    const commits = group.map((r) => (r.commits === undefined ? NaN : r.commits / Math.max(1, r.checks)));
    lines.push(
      `| ${r0.tool} | ${r0.accounts} | ${r0.concurrency} | ${range(group.map(perSecond))} | ${range(ratio, 2)} | ` +
        `${range(group.map(cpuPerCheck), 2)} | ${range(group.map((r) => r.rssKb / 1024))} | ${range(stmts, 1)} | ${range(commits, 2)} | ` +
        `${group.map((r) => `${r.ok}/${r.checks}`).join(', ')} | ${range(
          group.map((r) => r.wallMs / 1000),
          1,
        )} |`,
    );
  }
  return head + lines.join('\n') + '\n';
}

export function daemonTable(rows: Row[], phase: string): string {
  const head =
    '| sweep | accounts | C | sweep s | checks/s | × bare imapflow | CPU ms/check | peak RSS MB | DB stmts/check | DB commits/check | DB commits/s | GET /metrics MB | ms during | ms after |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  const lines: string[] = [];
  for (const group of groups(rows.filter((r) => r.phase === phase && r.metrics)).values()) {
    const r0 = group[0]!;
    const ratio = group.map((r) => perSecond(r) / floorRate(rows, r, 'bare imapflow'));
    lines.push(
      `| ${r0.tool} | ${r0.accounts} | ${r0.concurrency} | ${range(
        group.map((r) => r.wallMs / 1000),
        1,
      )} | ` +
        `${range(group.map(perSecond))} | ${range(ratio, 2)} | ${range(group.map(cpuPerCheck), 2)} | ` +
        `${range(group.map((r) => r.rssKb / 1024))} | ${range(
          group.map((r) => (r.statements ?? NaN) / Math.max(1, r.checks)),
          1,
        )} | ${range(
          group.map((r) => (r.commits ?? NaN) / Math.max(1, r.checks)),
          2,
        )} | ${range(group.map((r) => (r.commits ?? NaN) / (r.wallMs / 1000)))} | ` +
        `${range(
          group.map((r) => r.metrics!.bytes / 1e6),
          2,
        )} | ${range(group.map((r) => r.metrics!.duringMs))} | ` +
        `${range(group.map((r) => r.metrics!.afterMs))} |`,
    );
  }
  return head + lines.join('\n') + '\n';
}

export function wrongTable(rows: Row[]): string {
  const head = '| tool | server | says "wrong password" after (ms) | what it reported |\n|---|---|---|---|\n';
  return (
    head +
    rows
      .filter((r) => r.phase === 'wrong')
      .map(
        (r) =>
          `| ${r.tool} | ${r.note?.split('|')[0] ?? ''} | ${f(r.checkMs ?? NaN)} | ${(r.note?.split('|')[1] ?? '').replace(/\|/g, '/')} |`,
      )
      .join('\n') +
    '\n'
  );
}

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    // Monitoring plugins print their version and exit 3 (UNKNOWN).
    const out = String((error as { stdout?: unknown }).stdout ?? '').trim();
    return out || 'unknown';
  }
}

export function machine(): string {
  const pkg = (name: string): string => {
    try {
      return (
        JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      return '?';
    }
  };
  const mariadb = tryRun('mariadb', ['--version']).replace(/\s+/g, ' ');
  return [
    `- machine: ${hostname()}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}; shared with other engineers' test runs during the measurement`,
    `- mailmon ${tryRun('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])} (branch ${tryRun('git', ['-C', ROOT, 'rev-parse', '--abbrev-ref', 'HEAD'])}), Node ${process.version}, imapflow ${pkg('imapflow')}, nodemailer ${pkg('nodemailer')}, knex ${pkg('knex')}, better-sqlite3 ${pkg('better-sqlite3')}, mysql2 ${pkg('mysql2')}`,
    `- Dovecot ${tryRun('dovecot', ['--version'])}; ${tryRun('prometheus-blackbox-exporter', ['--version']).split('\n')[0]}; ${tryRun('/usr/lib/nagios/plugins/check_simap', ['-V'])}; ${mariadb}; ${tryRun('openssl', ['version'])}`,
  ].join('\n');
}
