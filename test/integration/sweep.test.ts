import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AccountInput, ServiceAuthInput } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Core } from '../../src/app.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { testCore, type LogCapture } from '../helpers/core.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { startMisbehaving, type MisbehavingServer } from '../peers/misbehaving.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';

const GOOD_PW = 'Good-canary-pw-1f7e';
const BAD_PW = 'Bad-canary-pw-9c2d';
/** Per-side deadline: generous for a loaded CI machine; the hang test waits this long. */
const TIMEOUT_S = 4;

for (const dialect of DIALECTS) {
  const peerSuite = (name: string, fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, name, () => describeWithPeer('dovecot', name, fn))
      : describeWithPeer('dovecot', name, fn);

  peerSuite(`sweeps against real Dovecot and SMTP on ${dialect.name}`, () => {
    let db: TestDb;
    let core: Core;
    let logs: LogCapture;
    let dovecot: Dovecot;
    let smtp: TestSmtpServer;
    let silent: MisbehavingServer;

    beforeAll(async () => {
      [db, dovecot, smtp, silent] = await Promise.all([
        dialect.open(),
        startDovecot({ users: [{ user: 'alice', pass: GOOD_PW }] }),
        startSmtpServer({ users: [{ user: 'alice', pass: GOOD_PW }] }),
        startMisbehaving('silent', { protocol: 'imap' }),
      ]);
      ({ core, logs } = await testCore(db.url, { 'scheduler.checkTimeoutSeconds': TIMEOUT_S }));
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([db?.cleanup(), dovecot?.stop(), smtp?.stop(), silent?.close()]);
    });

    const imap = (password: string, port = dovecot.imapsPort): ServiceAuthInput => ({
      server: '127.0.0.1',
      port,
      authType: 'password',
      username: 'alice',
      password,
      security: port === dovecot.imapsPort ? 'tls' : 'starttls',
      acceptUnverifiedCert: false,
      caPem: dovecot.caPem,
    });
    const smtpSide = (password: string): ServiceAuthInput => ({
      server: '127.0.0.1',
      port: smtp.port,
      authType: 'password',
      username: 'alice',
      password,
      security: 'starttls',
      acceptUnverifiedCert: false,
      caPem: smtp.caPem,
    });
    const account = (address: string, incoming: ServiceAuthInput | null, outgoing: ServiceAuthInput | null) =>
      ({ emailAddress: address, associateId: 1, incoming, outgoing }) satisfies AccountInput;

    const sweep = (ids: number[]) =>
      runSweep(core, {
        signal: new AbortController().signal,
        concurrency: 8,
        accountIds: ids,
        keepReports: true,
      });

    it('a good account goes Ok on both sides', async () => {
      const [id] = await core.repo.saveAccounts([
        account('good@example.test', imap(GOOD_PW), smtpSide(GOOD_PW)),
      ]);
      const summary = await sweep([id!]);
      expect(summary.reports[0]?.results.map((r) => [r.protocol, r.ok, r.code])).toEqual([
        ['imap', true, null],
        ['smtp', true, null],
      ]);
      const stored = await core.repo.getAccount(id!);
      expect(stored).toMatchObject({ accountStatus: AccountStatus.Ok, errorCount: 0, errorReason: '' });
      expect(stored?.lastSuccessAt).not.toBeNull();
    });

    it('a bad password goes Failing, then Failed at the threshold, then recovers to Ok', async () => {
      const [id] = await core.repo.saveAccounts([
        account('bad@example.test', imap(BAD_PW), smtpSide(GOOD_PW)),
      ]);
      const statuses: [AccountStatus, number][] = [];
      for (let i = 0; i < 3; i++) {
        await sweep([id!]);
        const a = await core.repo.getAccount(id!);
        statuses.push([a!.accountStatus, a!.errorCount]);
      }
      expect(statuses).toEqual([
        [AccountStatus.Failing, 1],
        [AccountStatus.Failing, 2],
        [AccountStatus.Failed, 3],
      ]);
      const failed = await core.repo.getAccount(id!);
      expect(failed?.errorReason).toMatch(/^IMAP/);
      expect(failed?.errorReason).toMatch(/AUTHENTICATIONFAILED|login|auth/i);
      expect(failed?.errorReason).not.toMatch(/SMTP/);

      await core.repo.saveAccounts([
        { ...account('bad@example.test', imap(GOOD_PW), smtpSide(GOOD_PW)), emailAccountId: id },
      ]);
      await sweep([id!]);
      expect(await core.repo.getAccount(id!)).toMatchObject({
        accountStatus: AccountStatus.Ok,
        errorCount: 0,
        errorReason: '',
      });
      const transitions = logs
        .parsed()
        .filter((l) => l.accountId === id)
        .map((l) => l.transition);
      expect(transitions).toEqual(['Unknown→Failing', 'Failing→Failed', 'Failed→Ok']);
      expect(logs.text).not.toContain(BAD_PW);
      expect(logs.text).not.toContain(GOOD_PW);
    });

    it('with probes.testSendTo set, an SMTP check sends a clearly marked test message', async () => {
      const { core: sending } = await testCore(db.url, { 'probes.testSendTo': 'monitor@example.test' });
      try {
        const [id] = await sending.repo.saveAccounts([
          account('sender@example.test', null, smtpSide(GOOD_PW)),
        ]);
        const before = smtp.messages.length;
        const summary = await runSweep(sending, {
          signal: new AbortController().signal,
          concurrency: 1,
          accountIds: [id!],
          keepReports: true,
        });
        expect(summary.reports[0]?.results[0]?.phases.map((p) => p.phase)).toContain('data');
        const sent = smtp.messages.slice(before);
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatchObject({ from: 'sender@example.test', to: ['monitor@example.test'] });
        expect(sent[0]?.data).toMatch(/^Subject: .*mailmon/im);
      } finally {
        await sending.close();
      }
    });

    it('trusts tls.extraCaFile for stored accounts that bring no CA of their own', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mailmon-ca-'));
      writeFileSync(join(dir, 'ca.pem'), dovecot.caPem);
      // A database of its own: both cores share one key, and the suite's rows use another.
      const own = await dialect.open();
      const key = generateKeyLine('ca');
      const { core: plain } = await testCore(own.url, { 'secrets.key': key });
      const { core: trusting } = await testCore(own.url, {
        'secrets.key': key,
        'tls.extraCaFile': join(dir, 'ca.pem'),
      });
      const run = (c: Core, id: number) =>
        runSweep(c, {
          signal: new AbortController().signal,
          concurrency: 1,
          accountIds: [id],
          keepReports: true,
        });
      try {
        const noCa = { ...imap(GOOD_PW), caPem: null };
        const [id] = await plain.repo.saveAccounts([account('extra-ca@example.test', noCa, null)]);
        expect((await run(plain, id!)).reports[0]?.results[0]?.code).toBe('tls_cert_untrusted');
        expect((await run(trusting, id!)).reports[0]?.outcome.ok).toBe(true);
      } finally {
        await Promise.all([plain.close(), trusting.close()]);
        await own.cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('skips Deleted accounts', async () => {
      const [id] = await core.repo.saveAccounts([account('deleted@example.test', imap(GOOD_PW), null)]);
      await core.repo.markDeleted(id!);
      expect(await core.repo.listDueAccountIds(new Date(Date.now() + 10 ** 9))).not.toContain(id);
      const summary = await sweep([id!]);
      expect(summary.checked).toBe(0);
      expect((await core.repo.getAccount(id!))?.lastCheckAt).toBeNull();
    });

    it('a server that never greets times out within the bound while the rest of the sweep completes', async () => {
      const ids = await core.repo.saveAccounts([
        account('hang@example.test', { ...imap(GOOD_PW), port: silent.port, security: 'tls' }, null),
        account('fine1@example.test', imap(GOOD_PW), null),
        account('fine2@example.test', imap(GOOD_PW, dovecot.imapPort), smtpSide(GOOD_PW)),
      ]);
      const started = performance.now();
      const summary = await sweep(ids);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeLessThan(TIMEOUT_S * 1000 + 1000);
      const byId = new Map(summary.reports.map((r) => [r.accountId, r]));
      expect(byId.get(ids[0]!)?.results[0]).toMatchObject({ ok: false });
      expect(byId.get(ids[0]!)?.results[0]?.code).toMatch(/timeout|deadline/);
      expect(byId.get(ids[1]!)?.outcome.ok).toBe(true);
      expect(byId.get(ids[2]!)?.outcome.ok).toBe(true);
      expect((await core.repo.getAccount(ids[0]!))?.accountStatus).toBe(AccountStatus.Failing);
    });
  });
}
