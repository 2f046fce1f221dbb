// The console's accounts table in SQL, on SQLite and MariaDB: Deleted hidden unless asked, status
// filter, search by address part or @domain (wildcards literal), worst first, paging, failing side
// and code, and failing-since = the first failure after the last fully successful check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckRecord } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { passwordSide, testKeyring } from '../helpers/keyring.js';
import { describeWithPeer } from '../peers/require.js';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

function check(when: Date, ok: boolean, side: 'imap' | 'smtp' = 'imap'): CheckRecord {
  return {
    checkedAt: when,
    outcome: ok ? { ok: true, reason: null } : { ok: false, reason: `${side.toUpperCase()} login rejected` },
    sides: [
      {
        side,
        checkedAt: when,
        ok,
        code: ok ? null : 'auth_rejected',
        phase: ok ? null : 'auth',
        reason: ok ? null : 'login rejected',
        durationMs: 5,
        details: null,
      },
    ],
    nextDueAt: new Date(when.getTime() + 300_000),
  };
}

for (const dialect of DIALECTS) {
  const suite = (fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, `account summaries on ${dialect.name}`, fn)
      : describe(`account summaries on ${dialect.name}`, fn);

  suite(() => {
    let t: TestDb;
    let repo: KnexAccountRepository;
    const ids: Record<string, number> = {};

    beforeAll(async () => {
      t = await dialect.open();
      repo = new KnexAccountRepository(t.db.knex, testKeyring());
      const names = [
        'ok@a.test',
        'failed@b.test',
        'failing@a.test',
        'new@c.test',
        'gone@a.test',
        'x%_y@d.test',
      ];
      const saved = await repo.saveAccounts(
        names.map((emailAddress) => ({
          emailAddress,
          associateId: 0,
          incoming: passwordSide('pw'),
          outgoing: null,
        })),
      );
      names.forEach((name, i) => (ids[name] = saved[i]!));
      await repo.recordCheck(ids['ok@a.test']!, check(at(0), true), 3);
      // failed@b.test: Ok, then failing from minute 10 on (three failures: Failed).
      for (const [m, ok] of [
        [0, false],
        [5, true],
        [10, false],
        [15, false],
        [20, false],
      ] as const)
        await repo.recordCheck(ids['failed@b.test']!, check(at(m), ok), 3);
      await repo.recordCheck(ids['failing@a.test']!, check(at(30), false), 3);
      await repo.markDeleted(ids['gone@a.test']!);
    });
    afterAll(async () => t?.cleanup());

    const list = (query: Partial<Parameters<KnexAccountRepository['listAccountSummaries']>[0]> = {}) =>
      repo.listAccountSummaries({ limit: 50, offset: 0, ...query });

    it('lists worst first and hides Deleted unless asked for', async () => {
      const { items, total } = await list();
      expect(items.map((i) => i.emailAddress)).toEqual([
        'failed@b.test',
        'failing@a.test',
        'new@c.test',
        'x%_y@d.test',
        'ok@a.test',
      ]);
      expect(total).toBe(5);
      const all = await list({ includeDeleted: true });
      expect(all.total).toBe(6);
      expect(all.items.at(-1)?.emailAddress).toBe('gone@a.test');
      expect((await list({ statuses: [AccountStatus.Deleted] })).items.map((i) => i.emailAddress)).toEqual([
        'gone@a.test',
      ]);
    });

    it('shows failing side, code and failing since (the first failure after the last success)', async () => {
      const [failed, failing] = (await list()).items;
      expect(failed).toMatchObject({
        status: AccountStatus.Failed,
        errorCount: 3,
        errorReason: 'IMAP login rejected',
        failingSides: [{ side: 'imap', code: 'auth_rejected' }],
        failingSince: at(10),
        lastSuccessAt: at(5),
        lastCheckAt: at(20),
      });
      // Never Ok: failing since its first failure.
      expect(failing).toMatchObject({ status: AccountStatus.Failing, failingSince: at(30) });
      const ok = (await list({ statuses: [AccountStatus.Ok] })).items[0];
      expect(ok).toMatchObject({ emailAddress: 'ok@a.test', failingSince: null, failingSides: [] });
    });

    it('searches by part of the address or by @domain, case-insensitively, wildcards literal', async () => {
      const addresses = async (search: string) => (await list({ search })).items.map((i) => i.emailAddress);
      expect(await addresses('@a.test')).toEqual(['failing@a.test', 'ok@a.test']);
      expect(await addresses('FAIL')).toEqual(['failed@b.test', 'failing@a.test']);
      expect(await addresses('%')).toEqual(['x%_y@d.test']);
      expect(await addresses('_')).toEqual(['x%_y@d.test']);
      expect(await addresses('!')).toEqual([]);
      expect(await addresses('@a')).toEqual([]); // a domain search matches the end of the address
      expect(await addresses('nobody')).toEqual([]);
    });

    it('filters by status and pages with a total', async () => {
      const failing = await list({ statuses: [AccountStatus.Failing, AccountStatus.Failed] });
      expect(failing.total).toBe(2);
      const page2 = await list({ limit: 2, offset: 2 });
      expect(page2.total).toBe(5);
      expect(page2.items.map((i) => i.emailAddress)).toEqual(['new@c.test', 'x%_y@d.test']);
      const one = await list({ id: ids['failed@b.test']!, limit: 1 });
      expect(one.items.map((i) => i.id)).toEqual([ids['failed@b.test']]);
    });
  });
}
