// Run with `npx tsx bench/console-list.ts` (it imports src/ directly, so tsconfig.bench.json leaves it out).
// How fast the console's accounts page is with 10,000 accounts: the page rendered from the
// repository's SQL (filter, search, worst-first order, paging in the database) side by side with
// loading every account as the API's list does (what filtering in JS over all rows would need).
// Usage: npx tsx bench/console-list.ts [DATABASE_URL] [ACCOUNTS]   (default: a temp SQLite file, 10000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AccountInput, CheckRecord } from '../src/accounts/repository.js';
import { createKeyring } from '../src/crypto/keyring.js';
import { KnexAccountRepository } from '../src/db/account-store.js';
import { openDatabase } from '../src/db/connection.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { renderAccount, renderAccounts } from '../src/http/ui/render.js';
import type { Session } from '../src/http/ui/session.js';
import { randomBytes } from 'node:crypto';

const dir = mkdtempSync(join(tmpdir(), 'mailmon-bench-console-'));
const url = process.argv[2] ?? `sqlite:${join(dir, 'bench.sqlite')}`;
const count = Number(process.argv[3] ?? 10_000);
const ROUNDS = 20;

function record(at: Date, ok: boolean): CheckRecord {
  return {
    checkedAt: at,
    outcome: ok
      ? { ok: true, reason: null }
      : { ok: false, reason: 'IMAP login rejected: AUTHENTICATIONFAILED' },
    sides: [
      {
        side: 'imap',
        checkedAt: at,
        ok,
        code: ok ? null : 'auth_rejected',
        phase: ok ? null : 'auth',
        reason: ok ? null : 'login rejected',
        durationMs: 20,
        details: {
          phases: [{ phase: 'auth', ms: 12 }],
          transcript: [{ t: 1, dir: 'S', line: '* OK ready' }],
        },
      },
    ],
    nextDueAt: new Date(at.getTime() + 300_000),
  };
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(ROUNDS / 2)]!;
}

const db = openDatabase(url, { poolMax: 10 });
try {
  await migrateToLatest(db.knex);
  const repo = new KnexAccountRepository(db.knex, createKeyring([{ id: 'b', key: randomBytes(32) }], 'b'));
  const inputs: AccountInput[] = Array.from({ length: count }, (_, i) => ({
    emailAddress: `user${i}@domain${i % 50}.example`,
    associateId: 0,
    incoming: {
      server: 'imap.example',
      port: 993,
      authType: 'password',
      username: `user${i}`,
      password: 'pw',
      security: 'tls',
      acceptUnverifiedCert: false,
      caPem: null,
    },
    outgoing: null,
  }));
  const seeded = performance.now();
  const ids: number[] = [];
  for (let i = 0; i < inputs.length; i += 1000)
    ids.push(...(await repo.saveAccounts(inputs.slice(i, i + 1000))));
  const now = Date.now();
  // Every account checked three times; one in ten failing for the last two.
  for (const [n, id] of ids.entries()) {
    const failing = n % 10 === 0;
    for (let k = 0; k < 3; k++)
      await repo.recordCheck(id, record(new Date(now - (3 - k) * 300_000), !(failing && k > 0)), 3);
  }
  console.log(
    `${db.describe}: ${count} accounts seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
  );

  const session: Session = { id: 'x', csrf: 'x', expiresAt: Infinity };
  const at = new Date();
  const cases: [string, () => Promise<unknown>][] = [
    ['accounts page, first page (worst first)', () => renderAccounts(repo, {}, at)],
    ['accounts page, status=Failing', () => renderAccounts(repo, { status: 'Failing' }, at)],
    ['accounts page, search @domain7.example', () => renderAccounts(repo, { q: '@domain7.example' }, at)],
    ['accounts page, last page', () => renderAccounts(repo, { page: String(Math.ceil(count / 50)) }, at)],
    ['account page', () => renderAccount(repo, ids[0]!, session, at)],
    ['all accounts loaded (listAccounts limit=all)', () => repo.listAccounts({ limit: count })],
  ];
  const results: [string, number][] = [];
  for (const [name, fn] of cases) results.push([name, await median(fn)]);
  const all = results.at(-1)![1];
  for (const [name, ms] of results) {
    console.log(
      `${name.padEnd(48)} ${ms.toFixed(1).padStart(8)} ms  (${(all / ms).toFixed(1)}x faster than loading all)`,
    );
  }
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
