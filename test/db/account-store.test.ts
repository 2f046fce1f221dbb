import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountInput, CheckRecord } from '../../src/accounts/repository.js';
import { nextStatus, type StatusState } from '../../src/accounts/status.js';
import { AccountStatus } from '../../src/accounts/types.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { AccountViewStore } from '../../src/db/account-view-store.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { createKeyring } from '../../src/crypto/keyring.js';
import { describeWithPeer } from '../peers/require.js';

function runWriter(url: string, id: number, count: number, keyHex: string) {
  return promisify(execFile)(process.execPath, [
    '--import',
    'tsx',
    'test/helpers/race-writer.ts',
    url,
    String(id),
    String(count),
    keyHex,
  ]);
}

const CANARY = 'canary-Pw-7f3a9c!';
const tlsFacts = {
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_256_GCM_SHA384',
  subject: 'CN=smtp.example.test',
  issuer: 'CN=Test CA',
  subjectAltNames: ['DNS:smtp.example.test'],
  validFrom: '2024-01-01T00:00:00.000Z',
  notAfter: '2031-01-01T00:00:00.000Z',
  authorized: true,
  authorizationError: null,
};

function input(address: string, extra: Partial<AccountInput> = {}): AccountInput {
  return {
    emailAddress: address,
    associateId: 7,
    incoming: {
      server: 'imap.example.test',
      port: 993,
      authType: 'password',
      username: address,
      password: CANARY,
      security: 'tls',
      acceptUnverifiedCert: false,
      caPem: null,
    },
    outgoing: null,
    ...extra,
  };
}

function failure(at: Date): CheckRecord {
  return {
    checkedAt: at,
    outcome: { ok: false, reason: 'IMAP: login rejected: AUTHENTICATIONFAILED' },
    sides: [
      {
        side: 'imap',
        checkedAt: at,
        ok: false,
        code: 'auth_rejected',
        phase: 'auth',
        reason: 'login rejected: AUTHENTICATIONFAILED',
        durationMs: 12,
        details: null,
      },
    ],
    nextDueAt: new Date(at.getTime() + 300_000),
  };
}

function success(at: Date): CheckRecord {
  return {
    checkedAt: at,
    outcome: { ok: true, reason: null },
    sides: [
      {
        side: 'imap',
        checkedAt: at,
        ok: true,
        code: null,
        phase: null,
        reason: null,
        durationMs: 9,
        details: null,
      },
    ],
    nextDueAt: new Date(at.getTime() + 300_000),
  };
}

for (const dialect of DIALECTS) {
  const suite = (fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, `account store on ${dialect.name}`, fn)
      : describe(`account store on ${dialect.name}`, fn);

  suite(() => {
    let t: TestDb;
    let repo: KnexAccountRepository;
    const key = randomBytes(32);
    const keyHex = key.toString('hex');
    const keyring = createKeyring([{ id: 'test', key }], 'test');

    beforeAll(async () => {
      t = await dialect.open();
      repo = new KnexAccountRepository(t.db.knex, keyring);
    });
    afterAll(async () => t?.cleanup());

    it('stores passwords encrypted and reads them back only on request', async () => {
      const [id] = await repo.saveAccounts([input('enc@example.test')]);
      const raw = await t.db.knex('service_auth').select('password');
      expect(JSON.stringify(raw)).not.toContain(CANARY);
      expect((await repo.getAccount(id!))?.incoming?.password).toBe('');
      expect((await repo.getAccountWithSecrets(id!))?.incoming?.password).toBe(CANARY);
      expect(await repo.findStoredPassword('imap', 'imap.example.test', 993, 'enc@example.test')).toBe(
        CANARY,
      );
    });

    it('stores nothing of an import when one entry fails', async () => {
      const before = (await repo.listAccounts()).total;
      await expect(
        repo.saveAccounts([input('a@example.test'), input('b@example.test', { emailAccountId: 999_999 })]),
      ).rejects.toThrow('EMailAccount 999999 does not exist');
      expect((await repo.listAccounts()).total).toBe(before);
    });

    it('follows the status rules through failures and recovery, matching the pure function', async () => {
      const [id] = await repo.saveAccounts([input('rules@example.test')]);
      let expected: StatusState = { status: AccountStatus.Unknown, errorCount: 0, errorReason: '' };
      const sequence = [failure, failure, failure, failure, success, failure];
      let at = Date.UTC(2026, 0, 1);
      for (const make of sequence) {
        at += 1000;
        const record = make(new Date(at));
        const recorded = await repo.recordCheck(id!, record, 3);
        expected = nextStatus(expected, record.outcome, 3);
        expect(recorded?.after).toEqual(expected);
      }
      const account = await repo.getAccount(id!);
      expect(account?.accountStatus).toBe(AccountStatus.Failing);
      expect(account?.errorCount).toBe(1);
      expect(account?.lastSuccessAt?.getTime()).toBe(Date.UTC(2026, 0, 1) + 5000);
      const history = await repo.history(id!);
      expect(history).toHaveLength(6);
      expect(history[0]).toMatchObject({ ok: false, code: 'auth_rejected', side: 'imap' });
      const [last] = await repo.lastChecks(id!);
      expect(last).toMatchObject({ ok: false, lastSuccessAt: new Date(Date.UTC(2026, 0, 1) + 5000) });
    });

    it('never loses an increment when writers race', async () => {
      const [id] = await repo.saveAccounts([input('race@example.test')]);
      // Two other processes write while this one does too, as a second daemon or the CLI would.
      const writers = [runWriter(t.url, id!, 15, keyHex), runWriter(t.url, id!, 15, keyHex)];
      for (let i = 0; i < 10; i++)
        await repo.recordCheck(id!, failure(new Date(Date.UTC(2026, 1, 1, 0, 0, i))), 3);
      await Promise.all(writers);
      const account = await repo.getAccount(id!);
      expect(account?.errorCount).toBe(40);

      expect(account?.accountStatus).toBe(AccountStatus.Failed);
    });

    it('skips deleted accounts: not due, not recorded', async () => {
      const [id] = await repo.saveAccounts([input('gone@example.test')]);
      expect(await repo.listDueAccountIds(new Date())).toContain(id);
      expect(await repo.markDeleted(id!)).toBe(true);
      expect(await repo.listDueAccountIds(new Date())).not.toContain(id);
      expect(await repo.recordCheck(id!, failure(new Date()), 3)).toBeNull();
      expect((await repo.getAccount(id!))?.accountStatus).toBe(AccountStatus.Deleted);
      expect(await repo.markDeleted(123_456_789)).toBe(false);
    });

    it('stores an overlong side reason cut to the column, instead of failing the write', async () => {
      const [id] = await repo.saveAccounts([input('long@example.test')]);
      const record = failure(new Date());
      record.sides[0]!.reason = `no greeting from ${'very-long-label.'.repeat(30)}example.test:993`;
      expect(await repo.recordCheck(id!, record, 3)).not.toBeNull();
      const [entry] = await repo.history(id!);
      expect(entry?.reason).toHaveLength(254);
      expect(record.sides[0]!.reason.startsWith(entry!.reason!)).toBe(true);
    });

    it('does not apply a result when the account was saved after the check loaded it', async () => {
      const [id] = await repo.saveAccounts([input('stale@example.test')]);
      const loaded = (await repo.getAccount(id!))!.updated;
      await new Promise((resolve) => setTimeout(resolve, 5)); // a later millisecond for the save
      await repo.saveAccounts([{ ...input('stale@example.test'), emailAccountId: id! }]);
      expect(await repo.recordCheck(id!, { ...failure(new Date()), loadedUpdated: loaded }, 3)).toBeNull();
      expect(await repo.getAccount(id!)).toMatchObject({
        errorCount: 0,
        accountStatus: AccountStatus.Unknown,
      });
      expect(await repo.history(id!)).toEqual([]);
      // Loaded after the save, the same result applies.
      const current = (await repo.getAccount(id!))!.updated;
      expect(
        await repo.recordCheck(id!, { ...failure(new Date()), loadedUpdated: current }, 3),
      ).not.toBeNull();
      expect((await repo.getAccount(id!))?.errorCount).toBe(1);
    });

    it('drops the last result of a side saved as null, keeping its history and the other side', async () => {
      const address = 'sides@example.test';
      const smtp = { ...input(address).incoming!, server: 'smtp.example.test', port: 465 };
      const [id] = await repo.saveAccounts([input(address, { outgoing: smtp })]);
      const at = new Date();
      const checked = failure(at);
      checked.sides.push({
        ...checked.sides[0]!,
        side: 'smtp',
        details: { phases: [], tls: tlsFacts, transcript: [] },
      });
      expect(await repo.recordCheck(id!, checked, 3)).not.toBeNull();
      expect((await repo.lastChecks(id!)).map((c) => c.side)).toEqual(['imap', 'smtp']);

      // The same save keeps both sides: nothing is dropped.
      await repo.saveAccounts([input(address, { emailAccountId: id!, outgoing: smtp })]);
      expect((await repo.lastChecks(id!)).map((c) => c.side)).toEqual(['imap', 'smtp']);

      await repo.saveAccounts([input(address, { emailAccountId: id!, outgoing: null })]);
      expect((await repo.lastChecks(id!)).map((c) => c.side)).toEqual(['imap']);
      expect((await repo.history(id!)).map((h) => h.side).sort()).toEqual(['imap', 'smtp']);
      const restored = (await new AccountViewStore(t.db.knex).page(id! - 1, 1))[0];
      expect(restored?.sides.map((s) => s.side)).toEqual(['imap']);
      expect(Object.keys(restored?.endpoints ?? {})).toEqual(['imap']);
    });

    it('does not restore the stored result of a side the account no longer has', async () => {
      // A row an earlier version left behind when the side was removed.
      const [id] = await repo.saveAccounts([input('leftover@example.test')]);
      await t.db.knex('last_check').insert({
        email_account_id: id,
        side: 'smtp',
        checked_at: Date.now(),
        ok: false,
        code: 'auth_rejected',
        duration_ms: 5,
        tls_not_after: Date.UTC(2031, 0, 1),
      });
      const restored = (await new AccountViewStore(t.db.knex).page(id! - 1, 1))[0];
      expect(restored?.sides).toEqual([]);
    });

    it('counts accounts per status, all five present', async () => {
      const counts = await repo.statusCounts();
      expect(Object.keys(counts).sort()).toEqual(['0', '1', '2', '3', '4']);
      expect(counts[AccountStatus.Deleted]).toBeGreaterThanOrEqual(1);
    });

    it('prunes history older than the retention', async () => {
      const removed = await repo.pruneHistory(new Date(Date.UTC(2026, 0, 1, 0, 0, 3)));
      expect(removed).toBeGreaterThanOrEqual(2);
    });
  });
}
