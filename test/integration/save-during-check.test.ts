// A save while a check is running supersedes that check: its result tested credentials that are no
// longer stored, so it must not raise ErrorCount, flip the status or push the due time an interval
// away (the save made the account due for a check of the new credentials). Real TCP servers that
// never greet hold the check open long enough to save in the middle of it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AccountInput } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Core } from '../../src/app.js';
import { testCore } from '../helpers/core.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { startMisbehaving, type MisbehavingServer } from '../peers/misbehaving.js';
import { describeWithPeer } from '../peers/require.js';
import { describe } from 'vitest';

for (const dialect of DIALECTS) {
  const suite = dialect.peer
    ? (name: string, fn: () => void) => describeWithPeer(dialect.peer!, name, fn)
    : describe;

  suite(`a save during a check on ${dialect.name}`, () => {
    let db: TestDb;
    let core: Core;
    let silent: MisbehavingServer;
    let other: MisbehavingServer;

    beforeAll(async () => {
      [db, silent, other] = await Promise.all([
        dialect.open(),
        startMisbehaving('silent', { protocol: 'imap' }),
        startMisbehaving('silent', { protocol: 'imap' }),
      ]);
      ({ core } = await testCore(db.url, {
        'scheduler.checkTimeoutSeconds': 1,
        'status.failedThreshold': 2,
      }));
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([db?.cleanup(), silent?.close(), other?.close()]);
    });

    const account = (port: number, password: string, emailAccountId?: number): AccountInput => ({
      emailAccountId,
      emailAddress: 'moving@example.test',
      associateId: 0,
      incoming: {
        server: '127.0.0.1',
        port,
        authType: 'password',
        username: 'u',
        password,
        security: 'none',
        acceptUnverifiedCert: false,
        caPem: null,
      },
      outgoing: null,
    });
    const check = (id: number) => core.checker.check(id, { signal: new AbortController().signal });

    it('discards the superseded result; the next check of the saved credentials counts', async () => {
      const [id] = (await core.repo.saveAccounts([account(silent.port, 'old-password')])) as [number];
      // One failure first: Failing, ErrorCount 1 (threshold 2: one more would make it Failed).
      expect((await check(id))?.recorded?.after).toMatchObject({
        status: AccountStatus.Failing,
        errorCount: 1,
      });

      const connections = silent.connections();
      const running = check(id);
      while (silent.connections() === connections) await new Promise((r) => setTimeout(r, 10));
      // The probe is connected and waiting for a greeting: the user fixes the account now.
      await core.repo.saveAccounts([account(other.port, 'new-password', id)]);
      const savedAt = Date.now();
      const superseded = await running;
      expect(superseded?.results[0]).toMatchObject({ ok: false, code: 'greeting_timeout' });
      expect(superseded?.recorded).toBeNull();

      const stored = await core.repo.getAccount(id);
      expect(stored).toMatchObject({ accountStatus: AccountStatus.Failing, errorCount: 1 });
      // Still due now (the save's doing), not an interval later.
      expect(stored?.nextDueAt?.getTime()).toBeLessThanOrEqual(savedAt);
      expect(await core.repo.listDueAccountIds(new Date())).toContain(id);
      expect(await core.repo.history(id)).toHaveLength(1);

      // A check of what is stored now is applied as usual.
      const next = await check(id);
      expect(other.connections()).toBe(1);
      expect(next?.recorded?.after).toMatchObject({ status: AccountStatus.Failed, errorCount: 2 });
      expect(await core.repo.history(id)).toHaveLength(2);
    });
  });
}
