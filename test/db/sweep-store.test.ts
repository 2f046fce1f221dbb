// Claims on both dialects against real databases: concurrent claimers take disjoint accounts, the
// lease token fences a late write (0 rows), an edit fences an in-flight result, released claims are
// due again, and on MariaDB the claim is one range of the next_due_at index that does not block a
// concurrent insert. Plus the server-version gate.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountInput } from '../../src/accounts/repository.js';
import { createKeyring } from '../../src/crypto/keyring.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { openDatabase } from '../../src/db/connection.js';
import { assertSkipLockedVersion, SweepStore } from '../../src/db/sweep-store.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { describeWithPeer } from '../peers/require.js';

const keyring = createKeyring([{ id: 't', key: randomBytes(32) }], 't');

const input = (n: number): AccountInput => ({
  emailAddress: `claim${n}@example.test`,
  associateId: 0,
  incoming: {
    server: 'imap.example.test',
    port: 993,
    authType: 'password',
    username: `u${n}`,
    password: 'pw',
    security: 'tls',
    acceptUnverifiedCert: false,
    caPem: null,
  },
  outgoing: null,
});

const failed = (at: Date) => ({
  checkedAt: at,
  outcome: { ok: false, reason: 'IMAP: refused' },
  sides: [],
  nextDueAt: new Date(at.getTime() + 300_000),
});

describe('assertSkipLockedVersion', () => {
  it.each([
    ['10.11.6-MariaDB-0+deb12u1', null],
    ['10.6.0-MariaDB', null],
    ['11.4.2-MariaDB', null],
    ['10.5.23-MariaDB', 'the database is MariaDB 10.5.23; mailmon needs MariaDB 10.6 or newer'],
    ['8.0.1', null],
    ['8.4.0', null],
    ['8.0.0', 'the database is MySQL 8.0.0; mailmon needs MySQL 8.0.1 or newer'],
    ['5.7.44-log', 'the database is MySQL 5.7.44; mailmon needs MySQL 8.0.1 or newer'],
  ])('%s', (version, refusal) => {
    if (refusal === null) expect(() => assertSkipLockedVersion(version)).not.toThrow();
    else expect(() => assertSkipLockedVersion(version)).toThrow(refusal);
  });
});

for (const dialect of DIALECTS) {
  const suite = dialect.peer
    ? (fn: () => void) => describeWithPeer(dialect.peer, `claims on ${dialect.name}`, fn)
    : (fn: () => void) => describe(`claims on ${dialect.name}`, fn);

  suite(() => {
    let t: TestDb;
    let repo: KnexAccountRepository;
    let ids: number[];

    beforeAll(async () => {
      t = await dialect.open();
      repo = new KnexAccountRepository(t.db.knex, keyring);
      ids = await repo.saveAccounts(Array.from({ length: 60 }, (_, i) => input(i)));
    });
    afterAll(async () => t?.cleanup());

    it('claimers on separate connections take disjoint accounts, oldest due first, until none is due', async () => {
      // A second process's connection pool, as a second replica would have.
      const other = openDatabase(t.url);
      try {
        const a = new SweepStore(t.db.knex);
        const b = new SweepStore(other.knex);
        const claimed: number[][] = [[], []];
        for (let round = 0; round < 8; round++) {
          const [x, y] = await Promise.all([a.claimDue('a', 5, 60_000), b.claimDue('b', 5, 60_000)]);
          claimed[0]!.push(...x.map((c) => c.accountId));
          claimed[1]!.push(...y.map((c) => c.accountId));
        }
        const all = [...claimed[0]!, ...claimed[1]!];
        expect(new Set(all).size).toBe(all.length);
        expect(all.sort((p, q) => p - q)).toEqual(ids);
        expect(await a.claimDue('a', 5, 60_000)).toEqual([]);
      } finally {
        await other.close();
      }
    });

    it('fences: a write under a lost lease or after an edit changes 0 rows; release makes it due again', async () => {
      const store = new SweepStore(t.db.knex);
      const [id] = await repo.saveAccounts([input(100)]);
      const [first] = await store.claimDue('a', 100, 1); // a 1 ms lease: lapses at once
      expect(first?.accountId).toBe(id);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const [second] = await store.claimDue('b', 100, 60_000);
      expect(second?.accountId).toBe(id);
      const fence = (c: typeof first) => ({ claim: { token: c!.token, editVersion: c!.editVersion } });
      expect(await repo.recordCheck(id!, { ...failed(new Date()), ...fence(first) }, 3)).toBeNull();
      expect(await store.fenceFailure(first!)).toBe('lease_lost');
      expect((await repo.getAccount(id!))?.errorCount).toBe(0);
      // An edit while `second` runs: its result is stale too.
      await repo.saveAccounts([{ ...input(100), emailAccountId: id! }]);
      expect(await repo.recordCheck(id!, { ...failed(new Date()), ...fence(second) }, 3)).toBeNull();
      expect(await store.fenceFailure(second!)).toBe('edited');
      // The save made it due at once; a claim and its release leave it due, the attempt uncounted.
      const [third] = await store.claimDue('c', 100, 60_000);
      expect(third).toMatchObject({ accountId: id, attempts: 3 });
      expect(await store.release([third!])).toBe(1);
      const [fourth] = await store.claimDue('c', 100, 60_000);
      expect(fourth).toMatchObject({ accountId: id, attempts: 3, dueAt: third!.dueAt });
      expect(await repo.recordCheck(id!, { ...failed(new Date()), ...fence(fourth) }, 3)).not.toBeNull();
      expect((await repo.getAccount(id!))?.errorCount).toBe(1);
      expect(await store.claimOne(id!, 'd', 60_000)).not.toBeNull();
      expect(await store.claimOne(id!, 'e', 60_000)).toBeNull(); // held by d
    });

    if (dialect.peer === 'mariadb') {
      it('EXPLAIN: the claim reads one range of the next_due_at index', async () => {
        const [rows] = (await t.db.knex.raw(
          `EXPLAIN SELECT email_account_id FROM email_account FORCE INDEX (email_account_next_due_idx)
           WHERE next_due_at <= 1 ORDER BY next_due_at, email_account_id LIMIT 5 FOR UPDATE SKIP LOCKED`,
        )) as [{ key: string; type: string; Extra: string }[]];
        expect(rows[0]).toMatchObject({ key: 'email_account_next_due_idx', type: 'range' });
        expect(rows[0]?.Extra ?? '').not.toMatch(/filesort/i);
      });

      it('an open claim transaction does not block inserting a new account', async () => {
        const [id] = await repo.saveAccounts([input(200)]);
        const trx = await t.db.knex.transaction({ isolationLevel: 'read committed' });
        try {
          const [locked] = (await trx.raw(
            `SELECT email_account_id FROM email_account FORCE INDEX (email_account_next_due_idx)
             WHERE next_due_at <= 9999999999999 ORDER BY next_due_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
          )) as [{ email_account_id: number }[]];
          expect(locked[0]?.email_account_id).toBe(id);
          const started = performance.now();
          await repo.saveAccounts([input(201)]); // due now: lands right in the claimed range
          expect(performance.now() - started).toBeLessThan(2_000);
          // And a second claimer skips the locked row instead of waiting for it.
          const [next] = await new SweepStore(t.db.knex).claimDue('x', 1, 60_000);
          expect(next?.accountId).not.toBe(id);
        } finally {
          await trx.rollback();
        }
      });
    }
  });
}
