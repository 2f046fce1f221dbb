// Per-account series across replicas, on real MariaDB with three `mailmon serve` processes checking
// real Dovecot accounts: only the replica holding the leader lease exports the per-account series
// and mailmon_accounts (values as stored, whichever replica checked), the others export none but
// their own work's aggregates (so a sum over instances counts each check once); the leader killed
// with SIGKILL, another replica exports the per-account series within the leader lease plus one
// heartbeat.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/connection.js';
import { spawnCli } from '../helpers/cli.js';
import { exited, setUpFleet } from '../helpers/replica-fleet.js';
import { find, parseExposition, type Sample } from '../metrics/exposition.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { createTestDatabase, type TestDatabase } from '../peers/mariadb.js';
import { describeWithPeer } from '../peers/require.js';

const ACCOUNTS = 30;
const LEADER_LEASE_S = 3;
const HEARTBEAT_S = 1;
const isBad = (i: number) => i % 3 === 0;

/** Every family that is about one account, and the status counts: the leader's alone. */
const LEADER_ONLY = [
  'mailmon_account_status',
  'mailmon_account_consecutive_failures',
  'mailmon_check_success',
  'mailmon_last_check_timestamp_seconds',
  'mailmon_last_success_timestamp_seconds',
  'mailmon_check_failure_info',
  'mailmon_mailbox_quota_usage_ratio',
  'mailmon_delivery_last_latency_seconds',
  'mailmon_tls_certificate_expiry_timestamp_seconds',
  'mailmon_accounts',
];

interface Replica {
  child: ChildProcess;
  url: Promise<string>;
}

describeWithPeer('mariadb', 'leader lease and per-account series', () => {
  describeWithPeer('dovecot', 'three replicas, one exporter of per-account series', () => {
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
      const replica = { child, url };
      replicas.push(replica);
      return replica;
    };
    const alive = () =>
      replicas.filter((r) => !r.child.killed && r.child.exitCode === null && r.child.signalCode === null);
    const scrape = async (r: Replica): Promise<Sample[]> =>
      parseExposition(await (await fetch(`${await r.url}/metrics`)).text());
    const isLeader = (samples: Sample[]) => find(samples, 'mailmon_leader')[0]?.value === 1;
    const stored = async () =>
      new Map(
        (
          (await db.knex('email_account').select('email_account_id', 'account_status', 'error_count')) as {
            email_account_id: number;
            account_status: number;
            error_count: number;
          }[]
        ).map((r) => [String(r.email_account_id), [r.account_status, r.error_count]]),
      );
    const exported = (samples: Sample[]) =>
      new Map(
        find(samples, 'mailmon_account_status').map((s) => [
          s.labels.account_id!,
          [
            s.value,
            find(samples, 'mailmon_account_consecutive_failures', { account_id: s.labels.account_id! })[0]
              ?.value,
          ],
        ]),
      );
    const recorded = async () =>
      Number(((await db.knex('check_result').count({ n: '*' })) as { n: number | string }[])[0]!.n);

    /**
     * Scrapes every live replica until exactly one leads and exports what the database holds (with
     * `allAccounts`: exports a series for every account, whatever their values).
     */
    const untilLeaderExportsStored = async (timeoutMs: number, allAccounts = false) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const live = alive();
        const scraped = await Promise.all(live.map(scrape));
        const leaders = scraped.filter(isLeader);
        const truth = await stored();
        const done = (view: Map<string, unknown[]>) =>
          allAccounts ? [...truth.keys()].every((id) => view.has(id)) : isDeepEqual(view, truth);
        if (leaders.length === 1 && done(exported(leaders[0]!)))
          return { live, scraped, leader: live[scraped.indexOf(leaders[0]!)]! };
        if (Date.now() > until)
          throw new Error(
            `after ${timeoutMs} ms: ${leaders.length} leader(s), exporting ${leaders.map((l) => exported(l).size).join('/')} of ${truth.size} accounts`,
          );
        await sleep(100);
      }
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mailmon-leader-'));
      const users = Array.from({ length: ACCOUNTS }, (_, i) => ({ user: `l${i}`, pass: `pw-${i}` }));
      [dovecot, database] = await Promise.all([startDovecot({ users }), createTestDatabase()]);
      db = openDatabase(database.url);
      env = await setUpFleet({
        dir,
        databaseUrl: database.url,
        imapPort: dovecot.imapPort,
        scheduler:
          '{ concurrency: 2, perHostConcurrency: 6, checkIntervalSeconds: 3600, checkTimeoutSeconds: 5 }',
        replicas: `{ leaseSeconds: 6, pollSeconds: 0.2, heartbeatSeconds: ${HEARTBEAT_S}, leaderLeaseSeconds: ${LEADER_LEASE_S} }`,
        users,
        isBad,
      });
    }, 60_000);

    afterAll(async () => {
      for (const r of replicas) r.child.kill('SIGKILL');
      await Promise.all(replicas.map((r) => exited(r.child)));
      await db?.close();
      await Promise.all([dovecot?.stop(), database?.drop()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it('only the leader exports per-account series, as stored; the others only their own aggregates', async () => {
      start();
      start();
      start();
      await Promise.all(replicas.map((r) => r.url));
      for (const until = Date.now() + 30_000; (await recorded()) < ACCOUNTS;) {
        if (Date.now() > until) throw new Error(`only ${await recorded()} of ${ACCOUNTS} checks recorded`);
        await sleep(100);
      }
      // Statuses and ErrorCounts of accounts other replicas checked reach the leader's export.
      const { scraped } = await untilLeaderExportsStored(LEADER_LEASE_S * 1000 + 5_000);
      for (const samples of scraped.filter((s) => !isLeader(s)))
        for (const name of LEADER_ONLY) expect([name, find(samples, name)]).toEqual([name, []]);
      const leader = scraped.find(isLeader)!;
      const failing = ACCOUNTS / 3;
      expect(find(leader, 'mailmon_accounts', { status: 'failing' })[0]?.value).toBe(failing);
      expect(find(leader, 'mailmon_accounts', { status: 'ok' })[0]?.value).toBe(ACCOUNTS - failing);
      expect(find(leader, 'mailmon_check_failure_info', { code: 'auth_rejected' })).toHaveLength(failing);
      // Each replica counts only its own checks: summed over instances, every check once.
      const checks = (samples: Sample[]) =>
        find(samples, 'mailmon_checks_total', { protocol: 'imap' }).reduce((n, s) => n + s.value, 0);
      expect(scraped.reduce((n, s) => n + checks(s), 0)).toBe(ACCOUNTS);
      expect(scraped.map((s) => find(s, 'mailmon_replicas')[0]?.value)).toEqual([3, 3, 3]);
    });

    it('the leader killed (SIGKILL): another replica exports them within the leader lease plus one heartbeat', async () => {
      const { leader } = await untilLeaderExportsStored(5_000);
      // A new round, so the survivors' results must reach the new leader's export too.
      await db.knex('email_account').update({ next_due_at: 0 });
      leader.child.kill('SIGKILL');
      const killedAt = Date.now();
      const { scraped } = await untilLeaderExportsStored((LEADER_LEASE_S + HEARTBEAT_S) * 1000 + 3_000, true);
      const took = Date.now() - killedAt;
      // The lease ends at most LEADER_LEASE_S after its last renewal; a survivor's next heartbeat
      // takes it and loads the series. Allow one scrape round and the load for the rest.
      expect(took).toBeLessThanOrEqual((LEADER_LEASE_S + HEARTBEAT_S) * 1000 + 1_500);
      expect(scraped).toHaveLength(2);
      const follower = scraped.find((s) => !isLeader(s))!;
      for (const name of LEADER_ONLY) expect([name, find(follower, name)]).toEqual([name, []]);
      // Then the round completes on the survivors, and the new leader follows their writes.
      for (const until = Date.now() + 30_000; (await recorded()) < 2 * ACCOUNTS;) {
        if (Date.now() > until) throw new Error(`round 2: ${(await recorded()) - ACCOUNTS} checks recorded`);
        await sleep(100);
      }
      const after = await untilLeaderExportsStored(HEARTBEAT_S * 1000 + 3_000);
      expect(
        find(after.scraped.find(isLeader)!, 'mailmon_account_consecutive_failures').filter(
          (s) => s.value === 2,
        ),
      ).toHaveLength(ACCOUNTS / 3);
    });
  });
});

function isDeepEqual(a: Map<string, unknown[]>, b: Map<string, unknown[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (JSON.stringify(b.get(k)) !== JSON.stringify(v)) return false;
  return true;
}
