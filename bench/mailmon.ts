// mailmon through its real entry points: accounts stored with `mailmon accounts import`, checked
// with `mailmon check --all` and by the daemon's scheduled sweep (`mailmon serve`), each its own
// process under the stats preload.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import knexFactory from 'knex';
import {
  MAILMON_CLI,
  PRELOAD,
  median,
  procSample,
  runNode,
  ROOT,
  statsSnapshot,
  type ProcStats,
} from './measure.js';
import { freePorts, waitForHttp } from './peers/net.js';
import { userName, userPass } from './peers/dovecot.js';

export type Db = 'sqlite' | 'mariadb';
export type ImapMode = 'full' | 'login';

export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root' };

export interface Store {
  db: Db;
  url: string;
  accounts: number;
  dir: string;
  keyFile: string;
}

export interface MailmonRun {
  wallMs: number;
  checks: number;
  ok: number;
  failed: number;
  stats: ProcStats;
}

export interface SweepRun extends MailmonRun {
  metricsBytes: number;
  /** GET /metrics while the sweep ran and after it, ms (medians). */
  metricsDuringMs: number;
  metricsAfterMs: number;
}

interface ConfigInput {
  store: Store;
  concurrency: number;
  caPath: string;
  mode: ImapMode;
  httpPort?: number;
  perAccountSeries?: 'all' | 'none';
}

/** The YAML config of one run: everything not set keeps mailmon's default. */
export function writeConfig(dir: string, c: ConfigInput): string {
  const path = join(dir, `mailmon-${c.store.db}-${c.concurrency}-${c.mode}.yaml`);
  const yaml = [
    'database:',
    `  url: ${JSON.stringify(c.store.url)}`,
    `  poolMax: ${Math.min(100, Math.max(10, c.concurrency))}`,
    'secrets:',
    `  keyFile: ${JSON.stringify(c.store.keyFile)}`,
    'http:',
    '  host: 127.0.0.1',
    `  port: ${c.httpPort ?? 0}`,
    'scheduler:',
    // Nothing is due again for a day after a check: one pass over the due accounts is timed.
    '  checkIntervalSeconds: 86400',
    `  concurrency: ${c.concurrency}`,
    // Every benchmark account is on 127.0.0.1: the per-host cap must not be the limit.
    `  perHostConcurrency: ${c.concurrency}`,
    '  checkTimeoutSeconds: 10',
    'replicas:',
    // The claim loop's idle poll: how long a pass waits for its first claim after makeAllDue.
    '  pollSeconds: 0.1',
    'history:',
    '  retentionDays: 0',
    'log:',
    '  level: warn',
    '  format: json',
    'metrics:',
    '  runtime: false',
    `  perAccountSeries: ${c.perAccountSeries ?? 'all'}`,
    'tls:',
    `  extraCaFile: ${JSON.stringify(c.caPath)}`,
    'probes:',
    '  imap:',
    `    mode: ${c.mode}`,
    'egress:',
    '  allowCidrs: ["127.0.0.1/32"]',
    '  allowedPorts: null',
    '',
  ].join('\n');
  writeFileSync(path, yaml);
  return path;
}

function knexFor(store: Store) {
  return store.db === 'sqlite'
    ? knexFactory({
        client: 'better-sqlite3',
        connection: { filename: store.url.replace(/^sqlite:(\/\/)?/, '') },
        useNullAsDefault: true,
      })
    : knexFactory({ client: 'mysql2', connection: { ...MARIADB } });
}

/** An empty database for `accounts` accounts (SQLite file or a MariaDB database of its own). */
export async function createStore(dir: string, db: Db, accounts: number): Promise<Store> {
  const keyFile = join(dir, 'secret.key');
  if (db === 'sqlite') {
    const file = join(dir, `bench-${accounts}.sqlite`);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    return { db, url: `sqlite://${file}`, accounts, dir, keyFile };
  }
  const name = `mailmon_bench_${process.pid}_${accounts}`;
  const admin = knexFactory({ client: 'mysql2', connection: { ...MARIADB } });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${name}`);
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  return { db, url: `mysql://root@127.0.0.1:3306/${name}`, accounts, dir, keyFile };
}

export async function dropStore(store: Store): Promise<void> {
  if (store.db !== 'mariadb') return;
  const admin = knexFactory({ client: 'mysql2', connection: { ...MARIADB } });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${store.url.split('/').pop()}`);
  } finally {
    await admin.destroy();
  }
}

/** The SuperOffice EMailAccount objects of the benchmark: IMAP only, user i % users, implicit TLS. */
export function accountsJson(count: number, users: number, port: number, wrongFrom = Infinity): unknown[] {
  const list = [];
  for (let i = 0; i < count; i++) {
    const u = i % users;
    list.push({
      EMailAddress: `${userName(u)}@bench.invalid`,
      IncomingCredentials: {
        Server: '127.0.0.1',
        Port: port,
        Security: 'tls',
        Username: userName(u),
        Password: i >= wrongFrom ? 'wrong' : userPass(u),
      },
    });
  }
  return list;
}

/** Accounts per `mailmon accounts import` process (one transaction each). */
export const IMPORT_CHUNK = 10_000;

/**
 * `mailmon accounts import` of `accounts` (JSON objects), in chunks of IMPORT_CHUNK; on MariaDB up to
 * four chunks at once after the first (SQLite has one writer). Returns the wall time.
 */
export async function importAccounts(
  tmp: string,
  configPath: string,
  accounts: unknown[],
  db: Db,
): Promise<number> {
  const started = performance.now();
  const chunks: unknown[][] = [];
  for (let i = 0; i < accounts.length; i += IMPORT_CHUNK) chunks.push(accounts.slice(i, i + IMPORT_CHUNK));
  // The first chunk alone: its process creates the schema (concurrent migrations would collide).
  await importChunk(tmp, configPath, JSON.stringify(chunks[0] ?? []), 0);
  let next = 1;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      const index = next++;
      await importChunk(tmp, configPath, JSON.stringify(chunks[index]), index);
    }
  };
  await Promise.all(Array.from({ length: db === 'mariadb' ? 4 : 1 }, worker));
  return performance.now() - started;
}

async function importChunk(tmp: string, configPath: string, json: string, index: number): Promise<number> {
  const file = join(tmp, `accounts-${index}.json`);
  writeFileSync(file, json);
  const ran = await runNode(tmp, MAILMON_CLI, ['accounts', 'import', file], {
    env: { MAILMON_CONFIG: configPath },
  });
  rmSync(file, { force: true });
  if (ran.code !== 0) throw new Error(`mailmon accounts import failed: ${ran.stderr.trim()}`);
  return ran.wallMs;
}

/** Sets every stored, non-deleted account's due time and clears its claim (lease) columns. */
async function setDue(store: Store, dueAt: number): Promise<void> {
  const knex = knexFor(store);
  try {
    await knex(accountTable(store)).whereNot('account_status', 1).update({
      next_due_at: dueAt,
      lease_owner: null,
      lease_token: null,
      claimed_due_at: null,
      claim_attempts: 0,
    });
  } finally {
    await knex.destroy();
  }
}

const accountTable = (store: Store): string =>
  store.db === 'sqlite' ? 'email_account' : `${store.url.split('/').pop()}.email_account`;

/**
 * Make every stored account due now, the way the claim query sees it (`next_due_at <= now`, no live
 * lease). Returns this host's clock just before the update, ms: the start of the timed pass.
 */
export async function makeAllDue(store: Store): Promise<number> {
  const at = Date.now();
  await setDue(store, 0);
  return at;
}

/** Nothing due for a year: a daemon started now claims nothing until makeAllDue. */
export async function parkAll(store: Store): Promise<void> {
  await setDue(store, Date.now() + 365 * 86_400_000);
}

/** Accounts whose last check was recorded at or after `since` (host ms): count, ok, the last one. */
async function recordedSince(
  store: Store,
  since: number,
): Promise<{ checked: number; ok: number; lastAt: number }> {
  const knex = knexFor(store);
  try {
    const row = (await knex(accountTable(store))
      .where('last_check_at', '>=', since)
      .select(
        knex.raw('COUNT(*) AS checked'),
        knex.raw('SUM(CASE WHEN account_status = 4 THEN 1 ELSE 0 END) AS ok'),
        knex.raw('MAX(last_check_at) AS lastAt'),
      )
      .first()) as { checked: number | string; ok: number | string | null; lastAt: number | string | null };
    return { checked: Number(row.checked), ok: Number(row.ok ?? 0), lastAt: Number(row.lastAt ?? NaN) };
  } finally {
    await knex.destroy();
  }
}

const SUMMARY = /(\d+) checked, (\d+) ok, (\d+) failed/;

/** `mailmon check --all` (or `--account ID`), as its own process. */
export async function runCheck(
  tmp: string,
  configPath: string,
  args: string[] = ['--all'],
  nodeArgs: string[] = [],
): Promise<MailmonRun & { stdout: string }> {
  const ran = await runNode(tmp, MAILMON_CLI, ['check', ...args], {
    env: { MAILMON_CONFIG: configPath },
    countStatements: true,
    nodeArgs,
  });
  const summary = SUMMARY.exec(ran.stdout);
  if (!summary && !args.includes('--json'))
    throw new Error(
      `mailmon check printed no summary (exit ${ran.code}): ${ran.stderr.trim().slice(0, 500)}`,
    );
  return {
    wallMs: ran.wallMs,
    checks: Number(summary?.[1] ?? 0),
    ok: Number(summary?.[2] ?? 0),
    failed: Number(summary?.[3] ?? 0),
    stats: ran.stats,
    stdout: ran.stdout,
  };
}

async function timedGet(url: string): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  return { ms: performance.now() - t0, body };
}

/** A pass that records no check for this long has stalled (the daemon's log says why). */
const STALL_MS = 60_000;

/**
 * `mailmon serve` timed over one pass of its claim loop across every stored account: the accounts
 * are parked (not due) while the daemon starts, then all made due at once; the pass ends when every
 * one has a recorded check. Wall time is from making them due to the last recorded check (the
 * database's last_check_at); CPU is the daemon's over that window (/proc); GET /metrics is timed
 * while the pass runs and after it.
 */
export async function runDaemonSweep(
  tmp: string,
  config: ConfigInput,
  onTick?: (checked: number) => void,
): Promise<SweepRun> {
  const [port] = await freePorts(1);
  const configPath = writeConfig(tmp, { ...config, httpPort: port });
  const statsFile = join(tmp, `serve-${process.pid}.json`);
  const total = config.store.accounts;
  await parkAll(config.store);
  const child = spawn(process.execPath, ['--import', PRELOAD, MAILMON_CLI, 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      MAILMON_CONFIG: configPath,
      BENCH_STATS_FILE: statsFile,
      BENCH_COUNT_STATEMENTS: '1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code) => {
      exitCode = code;
      r();
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  const during: number[] = [];
  const after: number[] = [];
  let body = '';
  let before = { cpuMs: 0, hwmKb: 0 };
  let end = { cpuMs: 0, hwmKb: 0 };
  let dueAt = 0;
  let recorded = { checked: 0, ok: 0, lastAt: NaN };
  let countsBefore: ProcStats | null = null;
  let countsAfter: ProcStats | null = null;
  try {
    await waitForHttp(`${base}/healthz`, 60_000).catch((error: unknown) => {
      throw new Error(`mailmon serve did not come up: ${stderr.trim().slice(0, 500)}`, { cause: error });
    });
    const checksAt = (text: string): number => sumSeries(text, 'mailmon_checks_total', 'protocol="imap"');
    const startChecks = checksAt((await timedGet(`${base}/metrics`)).body);
    before = procSample(child.pid!);
    countsBefore = await statsSnapshot(child.pid!, statsFile);
    dueAt = await makeAllDue(config.store);
    let lastProgress = Date.now();
    let seen = 0;
    for (;;) {
      await sleep(250);
      if (exitCode !== undefined)
        throw new Error(`mailmon serve exited (${exitCode}) mid-pass: ${stderr.trim().slice(-500)}`);
      const got = await timedGet(`${base}/metrics`);
      const done = checksAt(got.body) - startChecks;
      if (done >= total) {
        end = procSample(child.pid!);
        countsAfter = await statsSnapshot(child.pid!, statsFile);
        body = got.body;
        break;
      }
      during.push(got.ms);
      onTick?.(done);
      if (done > seen) [seen, lastProgress] = [done, Date.now()];
      else if (Date.now() - lastProgress > STALL_MS)
        throw new Error(
          `the claim loop recorded ${done} of ${total} checks and none for ${STALL_MS / 1000} s; ` +
            `daemon log: ${stderr.trim().slice(-500) || '(empty)'}`,
        );
    }
    for (let i = 0; i < 5; i++) after.push((await timedGet(`${base}/metrics`)).ms);
    recorded = await recordedSince(config.store, dueAt);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  const stats = existsSync(statsFile)
    ? (JSON.parse(readFileSync(statsFile, 'utf8')) as ProcStats)
    : { cpuMs: NaN, maxRssKb: NaN, statements: NaN, commits: NaN };
  rmSync(statsFile, { force: true });
  // Statements and commits over the pass only (start-up and shutdown excluded).
  const delta = (key: 'statements' | 'commits'): number =>
    countsBefore && countsAfter ? (countsAfter[key] ?? NaN) - (countsBefore[key] ?? NaN) : NaN;
  if (recorded.checked !== total)
    throw new Error(
      `the metrics counted ${total} checks but ${recorded.checked} accounts have a recorded one`,
    );
  return {
    wallMs: recorded.lastAt - dueAt,
    checks: recorded.checked,
    ok: recorded.ok,
    failed: recorded.checked - recorded.ok,
    // CPU over the pass (start-up excluded); peak RSS of the whole process.
    stats: {
      cpuMs: end.cpuMs - before.cpuMs,
      maxRssKb: Math.max(end.hwmKb, stats.maxRssKb),
      statements: delta('statements'),
      commits: delta('commits'),
    },
    metricsBytes: Buffer.byteLength(body),
    metricsDuringMs: median(during),
    metricsAfterMs: median(after),
  };
}

/** Sum of every series of `name` whose labels contain `labels` (e.g. 'result="success"'). */
function sumSeries(body: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
