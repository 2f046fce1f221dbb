// Several `mailmon serve` processes on one MariaDB share the accounts: each account is recorded
// once per interval and logged in to once (Dovecot's log counts the logins), a replica killed
// mid-round (SIGKILL) loses its accounts to the others after the lease with no ErrorCount off by
// one, and a replica frozen past its lease (SIGSTOP, then SIGCONT) changes 0 rows with its late
// results, counting them as leases lost.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/connection.js';
import { spawnCli } from '../helpers/cli.js';
import { exited as childExited, setUpFleet } from '../helpers/replica-fleet.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { createTestDatabase, type TestDatabase } from '../peers/mariadb.js';
import { describeWithPeer } from '../peers/require.js';

const ACCOUNTS = 1_000;
const LEASE_S = 6;
const isBad = (i: number) => i % 4 === 0;

interface Replica {
  child: ChildProcess;
  url: Promise<string>;
  out: () => string;
}

describeWithPeer('mariadb', 'replicas on one MariaDB', () => {
  describeWithPeer('dovecot', 'three mailmon serve processes share 1,000 accounts', () => {
    let dir: string;
    let dovecot: Dovecot;
    let database: TestDatabase;
    let db: Database;
    let env: Record<string, string>;
    const replicas: Replica[] = [];

    const start = (): Replica => {
      const child = spawnCli(['serve'], env);
      let out = '';
      const url = new Promise<string>((resolve) => {
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
      });
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      const replica = { child, url, out: () => out };
      replicas.push(replica);
      return replica;
    };
    const exited = (r: Replica) => childExited(r.child);

    /** check_result rows per account id. */
    const recordsPerAccount = async (): Promise<Map<number, number>> => {
      const rows = (await db
        .knex('check_result')
        .select('email_account_id')
        .count({ n: '*' })
        .groupBy('email_account_id')) as { email_account_id: number; n: number | string }[];
      return new Map(rows.map((r) => [r.email_account_id, Number(r.n)]));
    };
    const untilEvery = async (rounds: number, timeoutMs: number) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const per = await recordsPerAccount();
        const done = [...per.values()].filter((n) => n >= rounds).length;
        if (done === ACCOUNTS) return;
        if (Date.now() > until)
          throw new Error(`only ${done} of ${ACCOUNTS} accounts reached ${rounds} record(s)`);
        await sleep(250);
      }
    };
    const untilRecorded = async (atLeast: number) => {
      for (;;) {
        const [row] = (await db.knex('check_result').count({ n: '*' })) as { n: number | string }[];
        if (Number(row?.n) >= atLeast) return;
        await sleep(50);
      }
    };
    /** Dovecot's successful IMAP logins per user, from its log. */
    const logins = (): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const m of readFileSync(join(dovecot.dir, 'dovecot.log'), 'utf8').matchAll(
        /imap-login: (?:Info: )?Login: user=<(u\d+)>/g,
      ))
        counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
      return counts;
    };
    const errorCounts = async () =>
      new Map(
        (
          (await db.knex('email_account').select('email_address', 'error_count')) as {
            email_address: string;
            error_count: number;
          }[]
        ).map((r) => [Number(/^u(\d+)@/.exec(r.email_address)![1]), r.error_count]),
      );

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mailmon-replicas-'));
      const users = Array.from({ length: ACCOUNTS }, (_, i) => ({ user: `u${i}`, pass: `pw-${i}` }));
      [dovecot, database] = await Promise.all([startDovecot({ users }), createTestDatabase()]);
      db = openDatabase(database.url);
      env = await setUpFleet({
        dir,
        databaseUrl: database.url,
        imapPort: dovecot.imapPort,
        scheduler:
          '{ concurrency: 8, perHostConcurrency: 24, checkIntervalSeconds: 3600, checkTimeoutSeconds: 5 }',
        replicas: `{ leaseSeconds: ${LEASE_S}, pollSeconds: 0.2, heartbeatSeconds: 1, leaderLeaseSeconds: 3 }`,
        extra: ['history: { retentionDays: 0 }'],
        users,
        isBad,
      });
    }, 120_000);

    afterAll(async () => {
      for (const r of replicas) r.child.kill('SIGKILL');
      await Promise.all(replicas.map(exited));
      await db?.close();
      await Promise.all([dovecot?.stop(), database?.drop()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it(
      'SIGKILL of one replica mid-round: every account recorded exactly once, logged in once but for the in-flight, ErrorCount exact',
      { timeout: 240_000 },
      async () => {
        const [a] = [start(), start(), start()];
        await untilRecorded(250);
        a!.child.kill('SIGKILL');
        await untilEvery(1, 180_000);
        await sleep(LEASE_S * 1000 + 1500); // a late double write would land by now
        const per = await recordsPerAccount();
        expect([...per.values()].every((n) => n === 1)).toBe(true);
        expect(per.size).toBe(ACCOUNTS);
        const counts = await errorCounts();
        for (let i = 0; i < ACCOUNTS; i++) expect([i, counts.get(i)]).toEqual([i, isBad(i) ? 1 : 0]);
        const seen = logins();
        const good = Array.from({ length: ACCOUNTS }, (_, i) => i).filter((i) => !isBad(i));
        const twice = good.filter((i) => (seen.get(`u${i}`) ?? 0) > 1);
        expect(good.every((i) => (seen.get(`u${i}`) ?? 0) >= 1)).toBe(true);
        // Only checks in flight at the kill (at most its concurrency) were logged in to twice.
        expect(twice.length).toBeLessThanOrEqual(8);
      },
    );

    const counter = (metrics: string, name: string) =>
      Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    const refusedWrites = (metrics: string) =>
      counter(metrics, 'mailmon_lease_lost_total') + counter(metrics, 'mailmon_database_errors_total');

    it(
      'SIGSTOP of one replica past its lease, then SIGCONT: its late results change 0 rows and are refused',
      { timeout: 240_000 },
      async () => {
        const alive = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
        const frozen = alive[0]!;
        const frozenUrl = await frozen.url;
        await db.knex('email_account').update({ next_due_at: 0 }); // a new round, due now
        const base = ACCOUNTS;
        await untilRecorded(base + 150);
        const refusedBefore = refusedWrites(await (await fetch(`${frozenUrl}/metrics`)).text());
        frozen.child.kill('SIGSTOP');
        await untilEvery(2, 180_000);
        await sleep(LEASE_S * 1000 + 1000);
        const before = { per: await recordsPerAccount(), counts: await errorCounts() };
        frozen.child.kill('SIGCONT');
        await sleep(4_000); // its timers fire, its checks finish and try to write
        const after = { per: await recordsPerAccount(), counts: await errorCounts() };
        expect(after).toEqual(before);
        expect([...after.per.values()].every((n) => n === 2)).toBe(true);
        for (let i = 0; i < ACCOUNTS; i++) expect(after.counts.get(i)).toBe(isBad(i) ? 2 : 0);
        const metrics = await (await fetch(`${frozenUrl}/metrics`)).text();
        // Its late results were refused: fenced out by the new lease (mailmon_lease_lost_total) or,
        // when it froze inside a transaction, failed on the connection the server dropped after
        // its idle timeout (which is what freed the accounts that transaction had locked).
        expect(refusedWrites(metrics)).toBeGreaterThan(refusedBefore);
        expect(metrics).toMatch(/^mailmon_replicas [23]$/m);
      },
    );

    it('a manual test on two replicas racing the scheduled check of the same account: one check, one record', async () => {
      const alive = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
      const urls = await Promise.all(alive.map((r) => r.url));
      const [row] = (await db.knex('email_account').where('email_address', 'u1@example.test')) as {
        email_account_id: number;
      }[];
      const id = row!.email_account_id;
      const before = (await recordsPerAccount()).get(id)!;
      const loginsBefore = logins().get('u1') ?? 0;
      await db.knex('email_account').where('email_account_id', id).update({ next_due_at: 0 }); // due: the loops race too
      const answers = await Promise.all(
        urls.map((url) => fetch(`${url}/api/v1/accounts/${id}/test`, { method: 'POST' })),
      );
      expect(answers.map((a) => a.status)).toEqual(urls.map(() => 200));
      const bodies = (await Promise.all(answers.map((a) => a.json()))) as { ok: boolean }[];
      expect(bodies.every((b) => b.ok)).toBe(true);
      // The answer can come before the record is committed (an answer shared with the claim
      // loop's check of the same lease), so wait for the record, then long enough for a second
      // one to show up if the race produced two.
      const until = Date.now() + 15_000;
      while (((await recordsPerAccount()).get(id) ?? 0) <= before && Date.now() < until) await sleep(100);
      await sleep(1_500);
      expect((await recordsPerAccount()).get(id)).toBe(before + 1);
      expect(logins().get('u1')).toBe(loginsBefore + 1);
    });
  });
});
