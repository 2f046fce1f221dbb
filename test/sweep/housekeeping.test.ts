// The leader's history pruning on its node-cron schedule: only the leader prunes, in batches, and a
// replica that is not the leader when the schedule fires deletes nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { Housekeeping } from '../../src/sweep/housekeeping.js';
import { testCore } from '../helpers/core.js';
import { sqliteTestDb, type TestDb } from '../helpers/databases.js';

const DAY = 86_400_000;

describe('Housekeeping (history pruning)', () => {
  let db: TestDb;
  let core: Core;
  let accountId: number;

  beforeAll(async () => {
    db = await sqliteTestDb();
    ({ core } = await testCore(db.url));
    [accountId] = (await core.repo.saveAccounts([
      { emailAddress: 'h@example.test', associateId: 0, incoming: null, outgoing: null },
    ])) as [number];
  });
  afterAll(async () => {
    await core?.close();
    await db?.cleanup();
  });

  const seed = async (old: number, recent: number) => {
    await db.db.knex('check_result').del();
    const row = (checkedAt: number) => ({
      email_account_id: accountId,
      checked_at: checkedAt,
      side: 'imap',
      ok: true,
      duration_ms: 1,
    });
    const now = Date.now();
    const rows = [
      ...Array.from({ length: old }, (_, i) => row(now - 40 * DAY - i)),
      ...Array.from({ length: recent }, (_, i) => row(now - DAY - i)),
    ];
    for (let i = 0; i < rows.length; i += 200)
      await db.db.knex('check_result').insert(rows.slice(i, i + 200));
  };
  const count = async () =>
    Number(((await db.db.knex('check_result').count({ n: '*' })) as { n: number }[])[0]!.n);

  const housekeeping = (leader: { value: boolean }, schedule = '0 0 1 1 *') =>
    new Housekeeping(
      { repo: core.repo, metrics: core.metrics, logger: core.logger, isLeader: () => leader.value },
      { schedule, historyRetentionMs: 30 * DAY, pruneBatch: 7 },
    );

  it('prunes only while leading, every old row in batches, keeping the recent ones', async () => {
    await seed(50, 5);
    const leader = { value: false };
    const chores = housekeeping(leader);
    expect(await chores.run()).toBeNull();
    expect(await count()).toBe(55);
    leader.value = true;
    expect(await chores.run()).toBe(50);
    expect(await count()).toBe(5);
  });

  it('runs at the times of its cron expression', async () => {
    await seed(10, 1);
    const chores = housekeeping({ value: true }, '* * * * * *');
    chores.start();
    try {
      const until = Date.now() + 5_000;
      while ((await count()) > 1 && Date.now() < until) await sleep(100);
      expect(await count()).toBe(1);
    } finally {
      await chores.stop();
    }
  });
});
