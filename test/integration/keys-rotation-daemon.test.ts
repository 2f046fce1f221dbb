// "A rotation runs while the daemon sweeps without a single check failing because of it": the
// daemon's core (keyring B,A after its restart) sweeps real Dovecot and smtp-server accounts in a
// loop while `mailmon keys rotate --batch-size 1` runs as a separate process on the same database.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServiceAuthInput } from '../../src/accounts/repository.js';
import type { Core } from '../../src/app.js';
import { generateKeyLine, parseKeyList } from '../../src/crypto/key-source.js';
import { createKeyring } from '../../src/crypto/keyring.js';
import { storedKeyUsage } from '../../src/crypto/stored-secrets.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { runSweep, type SweepSummary } from '../../src/sweep/run-sweep.js';
import { collect, spawnCli } from '../helpers/cli.js';
import { testCore } from '../helpers/core.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';

const PW = 'rotation-daemon-pw-6e2f';
const LINE_A = generateKeyLine('A');
const LINE_B = generateKeyLine('B');
const ACCOUNTS = 20;

for (const dialect of DIALECTS) {
  const peerSuite = (name: string, fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, name, () => describeWithPeer('dovecot', name, fn))
      : describeWithPeer('dovecot', name, fn);

  peerSuite(`keys rotate while the daemon sweeps on ${dialect.name}`, () => {
    let t: TestDb;
    let core: Core;
    let dovecot: Dovecot;
    let smtp: TestSmtpServer;
    let ids: number[];

    beforeAll(async () => {
      [t, dovecot, smtp] = await Promise.all([
        dialect.open(),
        startDovecot({ users: [{ user: 'rot', pass: PW }] }),
        startSmtpServer({ users: [{ user: 'rot', pass: PW }] }),
      ]);
      const imap = (i: number): ServiceAuthInput => ({
        server: '127.0.0.1',
        port: i % 2 === 0 ? dovecot.imapsPort : dovecot.imapPort,
        authType: 'password',
        username: 'rot',
        password: PW,
        security: i % 2 === 0 ? 'tls' : 'starttls',
        acceptUnverifiedCert: false,
        caPem: dovecot.caPem,
      });
      const smtpSide: ServiceAuthInput = { ...imap(1), port: smtp.port, caPem: smtp.caPem };
      // Stored by the old configuration: every secret under key A.
      const [entryA] = parseKeyList(LINE_A, 'test');
      ids = await new KnexAccountRepository(t.db.knex, createKeyring([entryA!], 'A')).saveAccounts(
        Array.from({ length: ACCOUNTS }, (_, i) => ({
          emailAddress: `rot${i}@example.test`,
          associateId: 1,
          incoming: imap(i),
          outgoing: smtpSide,
        })),
      );
      // The daemon restarted with the new key first and the old one after it.
      ({ core } = await testCore(t.url, {
        'secrets.key': `${LINE_B},${LINE_A}`,
        'scheduler.concurrency': 16,
        'scheduler.perHostConcurrency': 16,
      }));
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([t?.cleanup(), dovecot?.stop(), smtp?.stop()]);
    });

    const underB = async () =>
      (await storedKeyUsage(t.db.knex)).byKey.find((k) => k.keyId === 'B')?.rows ?? 0;

    it('every check of every sweep succeeds while all secrets move to the new key', async () => {
      const sweeps: { summary: SweepSummary; bBefore: number; bAfter: number }[] = [];
      const sweep = async () => {
        const bBefore = await underB();
        const summary = await runSweep(core, {
          signal: new AbortController().signal,
          concurrency: 16,
          accountIds: ids,
          keepReports: true,
        });
        sweeps.push({ summary, bBefore, bAfter: await underB() });
      };
      await sweep(); // warm-up: everything works under A before the rotation starts

      const rotation = collect(
        spawnCli(['keys', 'rotate', '--batch-size', '1'], {
          MAILMON_CONFIG: '/dev/null',
          MAILMON_DATABASE_URL: t.url,
          MAILMON_SECRET_KEY: `${LINE_B},${LINE_A}`,
        }),
      );
      let rotating = true;
      void rotation.then(() => (rotating = false));
      while (rotating) await sweep();
      await sweep();
      const run = await rotation;

      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(`^rotated ${ACCOUNTS * 2} of ${ACCOUNTS * 2} secret\\(s\\) to key "B"`),
      );
      expect(await underB()).toBe(ACCOUNTS * 2);
      // The rotation really ran during sweeps: some sweep saw rows move to B while it was checking.
      expect(sweeps.some((s) => s.bAfter > s.bBefore)).toBe(true);
      for (const { summary } of sweeps) {
        expect(summary.errors).toBe(0);
        expect(summary.checked).toBe(ACCOUNTS);
        const failures = summary.reports
          .filter((r) => !r.outcome.ok)
          .map((r) => `${r.accountId}: ${r.outcome.reason}`);
        expect(failures).toEqual([]);
      }
    });
  });
}
