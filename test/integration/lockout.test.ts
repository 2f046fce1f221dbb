// Never locking a user out (issue 11), against a real Dovecot and a real SMTP server, on SQLite and
// MariaDB: a wrong password checked over a simulated day makes no more logins than the README
// promises (counted at the servers: Dovecot's log, smtp-server's AUTH attempts), through the claim
// path the daemon uses; a manual test during the backoff runs, and its success ends the backoff;
// a save with a new password makes the account due at once and Ok, a re-save of the same stale
// password does not.
//
// Simulated time: each check is claimed the moment it is made due (next_due_at set to the
// database's now), and the wait the checker wrote (next_due_at minus the due time it claimed)
// advances a simulated clock. The logins themselves are real.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServiceAuthInput } from '../../src/accounts/repository.js';
import { saveAccount } from '../../src/accounts/save.js';
import type { AccountDraft } from '../../src/accounts/save-rules.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Core } from '../../src/app.js';
import { SweepStore } from '../../src/db/sweep-store.js';
import { accountView } from '../../src/http/api/views.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { testCore, type LogCapture } from '../helpers/core.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type SmtpUser, type TestSmtpServer } from '../peers/smtp.js';

const USER = 'alice';
const RIGHT = 'Right-canary-pw-5b1e';
const STALE = 'Stale-canary-pw-77aa-old';
const HOUR = 3_600_000;

/** The README's promise: "at most **K** login attempts in the first hour and **L** in the first day". */
const promise = (() => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = /at most \*\*(\d+)\*\* login attempts in the first hour and \*\*(\d+)\*\* in the first day/.exec(
    readme,
  );
  if (!m) throw new Error("README lacks the lockout guarantee's numbers");
  return { firstHour: Number(m[1]), firstDay: Number(m[2]) };
})();

/** A new account with only an IMAP side, on `dovecot`'s implicit-TLS port. */
const imapOnlyDraft = (dovecot: Dovecot, address: string, password: string): AccountDraft => ({
  emailAccountId: 0,
  emailAddress: address,
  associateId: 1,
  incoming: {
    server: '127.0.0.1',
    port: dovecot.imapsPort,
    authType: 'password',
    username: USER,
    password,
    security: 'tls',
    acceptUnverifiedCert: false,
    caPem: dovecot.caPem,
  },
  outgoing: null,
});

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, name, () => describeWithPeer('dovecot', name, fn))
      : describeWithPeer('dovecot', name, fn);

  suite(`lockout-safe checks against Dovecot and smtp-server on ${dialect.name}`, () => {
    let db: TestDb;
    let core: Core;
    let dovecot: Dovecot;
    let smtp: TestSmtpServer;
    let sweeps: SweepStore;
    let logs: LogCapture;
    /** smtp-server reads this list at every AUTH: changing it changes the server's password. */
    const smtpUsers: SmtpUser[] = [{ user: USER, pass: RIGHT }];

    beforeAll(async () => {
      [db, dovecot, smtp] = await Promise.all([
        dialect.open(),
        startDovecot({ users: [{ user: USER, pass: RIGHT }] }),
        startSmtpServer({ users: smtpUsers }),
      ]);
      ({ core, logs } = await testCore(db.url));
      sweeps = new SweepStore(core.db.knex);
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([db?.cleanup(), dovecot?.stop(), smtp?.stop()]);
    });

    /** Failed IMAP logins of USER in Dovecot's log (each "auth failed, N attempts" line adds N). */
    const dovecotFailedLogins = (): number => {
      const log = readFileSync(join(dovecot.dir, 'dovecot.log'), 'utf8');
      let n = 0;
      for (const m of log.matchAll(/auth failed, (\d+) attempts[^\n]*user=<alice>/g)) n += Number(m[1]);
      return n;
    };
    /** Dovecot writes its log through a log process: wait until the count reaches `want` or settles. */
    const settledDovecotFailures = async (want: number): Promise<number> => {
      let last = -1;
      for (let i = 0; i < 40; i++) {
        const n = dovecotFailedLogins();
        if (n >= want && n === last) return n;
        last = n;
        await new Promise((r) => setTimeout(r, 100));
      }
      return dovecotFailedLogins();
    };
    /**
     * Changes the password on both servers. Dovecot notices a changed passwd-file by its stat, to
     * the second: the file is rewritten a second after the previous change, so it is seen.
     */
    const setServerPassword = async (pass: string): Promise<void> => {
      await new Promise((r) => setTimeout(r, 1_100));
      dovecot.setUsers([{ user: USER, pass }]);
      smtpUsers[0]!.pass = pass;
    };
    const smtpFailedLogins = () => smtp.authAttempts.filter((a) => a.user === USER && !a.ok).length;

    const side = (
      server: 'imap' | 'smtp',
      password: string,
    ): ServiceAuthInput & AccountDraft['incoming'] => ({
      server: '127.0.0.1',
      port: server === 'imap' ? dovecot.imapsPort : smtp.port,
      authType: 'password',
      username: USER,
      password,
      security: server === 'imap' ? 'tls' : 'starttls',
      acceptUnverifiedCert: false,
      caPem: server === 'imap' ? dovecot.caPem : smtp.caPem,
    });
    const draft = (id: number, password: string): AccountDraft => ({
      emailAccountId: id,
      emailAddress: `${USER}@example.test`,
      associateId: 1,
      incoming: side('imap', password),
      outgoing: side('smtp', password),
    });

    const row = async (id: number) =>
      (await core.db.knex('email_account').where('email_account_id', id).first()) as {
        next_due_at: number | string;
        auth_failures: number;
        auth_backoff_code: string | null;
      };

    /** Makes the account due now, claims it as the claim loop does and checks it; answers the wait it got. */
    const claimAndCheck = async (id: number): Promise<number> => {
      await core.db
        .knex('email_account')
        .where('email_account_id', id)
        .update({ next_due_at: await sweeps.dbNow() });
      const [claim] = await sweeps.claimDue('lockout-test', 1, 60_000);
      expect(claim?.accountId).toBe(id);
      const report = await core.checker.check(id, { signal: new AbortController().signal, claim: claim! });
      expect(report?.recorded).not.toBeNull();
      return Number((await row(id)).next_due_at) - claim!.dueAt;
    };

    let id = 0;

    it(
      'a wrong password over a simulated day: logins counted at both servers stay within the README bound',
      { timeout: 120_000 },
      async () => {
        id = await saveAccount(core.repo, draft(0, STALE));
        const [imapBefore, smtpBefore] = [dovecotFailedLogins(), smtpFailedLogins()];
        let simulated = 0;
        let inFirstHour = 0;
        let inFirstDay = 0;
        const waits: number[] = [];
        while (simulated < 24 * HOUR) {
          if (simulated < HOUR) inFirstHour++;
          inFirstDay++;
          const wait = await claimAndCheck(id);
          waits.push(wait / 60_000);
          simulated += wait;
        }
        // 1, 2, 4 ... × the 5-minute interval, then the 24 h cap.
        expect(waits).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1280]);
        expect(inFirstHour).toBeLessThanOrEqual(promise.firstHour);
        expect(inFirstDay).toBeLessThanOrEqual(promise.firstDay);
        // Counted at the servers: each check is one refused login per side, nothing more.
        const imapFailures = (await settledDovecotFailures(imapBefore + inFirstDay)) - imapBefore;
        expect(imapFailures).toBe(inFirstDay);
        expect(smtpFailedLogins() - smtpBefore).toBe(inFirstDay);

        const stored = await row(id);
        expect(stored).toMatchObject({ auth_failures: inFirstDay, auth_backoff_code: 'auth_rejected' });
        const account = (await core.repo.getAccount(id))!;
        expect(account.accountStatus).toBe(AccountStatus.Failed);
        expect(accountView(account).authBackoff).toEqual({ failures: inFirstDay, code: 'auth_rejected' });
        expect(await core.repo.backingOffCounts()).toEqual({ auth_rejected: 1 });
      },
    );

    it('re-saving the same stale password keeps the backoff and its due time', async () => {
      const before = await row(id);
      await saveAccount(core.repo, draft(id, STALE));
      const after = await row(id);
      expect(Number(after.next_due_at)).toBe(Number(before.next_due_at));
      expect(after.auth_failures).toBe(before.auth_failures);
      expect(await sweeps.claimDue('lockout-test', 10, 60_000)).toEqual([]);
    });

    it('a manual test during the backoff runs at once; its success ends the backoff', async () => {
      // The admin set the servers' password back to the one mailmon has stored.
      await setServerPassword(STALE);
      const due = Number((await row(id)).next_due_at);
      expect(due - (await sweeps.dbNow())).toBeGreaterThan(HOUR);
      const report = await core.checker.check(id, { signal: new AbortController().signal });
      expect(report?.results.map((r) => [r.protocol, r.ok])).toEqual([
        ['imap', true],
        ['smtp', true],
      ]);
      const after = await row(id);
      expect(after).toMatchObject({ auth_failures: 0, auth_backoff_code: null });
      // Back on the normal interval.
      expect(Number(after.next_due_at) - (await sweeps.dbNow())).toBeLessThanOrEqual(5 * 60_000);
      expect((await core.repo.getAccount(id))?.accountStatus).toBe(AccountStatus.Ok);
      expect(await core.repo.backingOffCounts()).toEqual({});
    });

    it('a save with the new password makes a backing-off account due at once, and Ok', async () => {
      // The password changes on the servers: mailmon's stored one is stale again, and backs off.
      await setServerPassword(RIGHT);
      await claimAndCheck(id);
      expect(await claimAndCheck(id)).toBe(2 * 5 * 60_000);
      expect((await row(id)).auth_failures).toBe(2);

      await saveAccount(core.repo, draft(id, RIGHT));
      const saved = await row(id);
      expect(saved.auth_failures).toBe(0);
      expect(Number(saved.next_due_at)).toBeLessThanOrEqual(await sweeps.dbNow());
      const [claim] = await sweeps.claimDue('lockout-test', 10, 60_000);
      expect(claim?.accountId).toBe(id);
      const report = await core.checker.check(id, { signal: new AbortController().signal, claim: claim! });
      expect(report?.outcome.ok).toBe(true);
      expect((await core.repo.getAccount(id))?.accountStatus).toBe(AccountStatus.Ok);
    });

    it("a check claimed before a save with new credentials cannot write its backoff over the save's reset", async () => {
      await setServerPassword(STALE); // the stored RIGHT is refused again
      await claimAndCheck(id);
      expect((await row(id)).auth_failures).toBe(1);
      await core.db
        .knex('email_account')
        .where('email_account_id', id)
        .update({ next_due_at: await sweeps.dbNow() });
      const [claim] = await sweeps.claimDue('lockout-test', 1, 60_000);
      await saveAccount(core.repo, draft(id, STALE)); // while the claimed check is about to run
      const report = await core.checker.check(id, { signal: new AbortController().signal, claim: claim! });
      // Its refused login is fenced out by the edit version: the save's reset stands.
      expect(report?.recorded).toBeNull();
      expect(await row(id)).toMatchObject({ auth_failures: 0, auth_backoff_code: null });
    });

    it('neither password reaches the log, the stored results or the API view', async () => {
      const stored = JSON.stringify([
        await core.db.knex('check_result').where('email_account_id', id),
        await core.db.knex('last_check').where('email_account_id', id),
        accountView((await core.repo.getAccount(id))!),
      ]);
      for (const secret of [STALE, RIGHT]) {
        expect(logs.text).not.toContain(secret);
        expect(stored).not.toContain(secret);
      }
    });
  });
}

describeWithPeer('dovecot', 'a host that refused our logins and now refuses connections: ip_banned', () => {
  let db: TestDb;
  let core: Core;
  let dovecot: Dovecot;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    [db, dovecot, smtp] = await Promise.all([
      DIALECTS[0]!.open(),
      startDovecot({ users: [{ user: USER, pass: RIGHT }] }),
      startSmtpServer({ users: [{ user: USER, pass: RIGHT }] }),
    ]);
    ({ core } = await testCore(db.url));
  });
  afterAll(async () => {
    await core?.close();
    await Promise.all([db?.cleanup(), dovecot?.stop(), smtp?.stop()]);
  });

  it('Dovecot refuses the password, then its port refuses TCP while another host works: ip_banned, backing off', async () => {
    // Another host (by name: "localhost" is not "127.0.0.1") where logins work.
    const other = await saveAccount(core.repo, {
      emailAccountId: 0,
      emailAddress: `other@example.test`,
      associateId: 1,
      incoming: null,
      outgoing: {
        server: 'localhost',
        port: smtp.port,
        authType: 'password',
        username: USER,
        password: RIGHT,
        security: 'starttls',
        acceptUnverifiedCert: false,
        caPem: smtp.caPem,
      },
    });
    const stale = await saveAccount(core.repo, imapOnlyDraft(dovecot, `${USER}@example.test`, STALE));
    const check = (id: number) => core.checker.check(id, { signal: new AbortController().signal });
    expect((await check(other))?.outcome.ok).toBe(true);
    expect((await check(stale))?.results[0]?.code).toBe('auth_rejected');
    // The "ban": the server's port now refuses connections from us.
    await dovecot.stop();
    const banned = (await check(stale))?.results[0];
    expect(banned).toMatchObject({ ok: false, code: 'ip_banned', phase: 'connect' });
    expect(banned?.reason).toMatch(/^IMAP mailmon's address looks banned after failed logins/);
    const row = (await core.db.knex('email_account').where('email_account_id', stale).first()) as {
      auth_failures: number;
      auth_backoff_code: string;
    };
    // A credential failure like the refused login before it: the account keeps backing off.
    expect(row).toMatchObject({ auth_failures: 2, auth_backoff_code: 'ip_banned' });
  });
});

describeWithPeer(
  'dovecot',
  'per-host backoff: many refused logins at one server slow every account on it',
  () => {
    let db: TestDb;
    let core: Core;
    let dovecot: Dovecot;

    beforeAll(async () => {
      [db, dovecot] = await Promise.all([
        DIALECTS[0]!.open(),
        startDovecot({ users: [{ user: USER, pass: RIGHT }] }),
      ]);
      ({ core } = await testCore(db.url, { 'scheduler.hostBackoffAfterRefusals': 2 }));
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([db?.cleanup(), dovecot?.stop()]);
    });

    it('the second refused login at the host doubles the wait of an account on its first failure; a login there ends it', async () => {
      const [a, b, good] = [
        await saveAccount(core.repo, imapOnlyDraft(dovecot, 'a@example.test', STALE)),
        await saveAccount(core.repo, imapOnlyDraft(dovecot, 'b@example.test', STALE)),
        await saveAccount(core.repo, imapOnlyDraft(dovecot, 'good@example.test', RIGHT)),
      ];
      const interval = core.config.scheduler.checkIntervalSeconds * 1000;
      const waitAfterCheck = async (id: number): Promise<number> => {
        await core.checker.check(id, { signal: new AbortController().signal });
        const account = (await core.repo.getAccount(id))!;
        return account.nextDueAt!.getTime() - account.lastCheckAt!.getTime();
      };
      const near = (ms: number, want: number) => expect(Math.abs(ms - want)).toBeLessThan(2_000);
      near(await waitAfterCheck(a), interval); // one refusal at the host: the normal interval
      near(await waitAfterCheck(b), 2 * interval); // b's first failure, the host's second refusal
      near(await waitAfterCheck(good), interval); // a login at the host goes through: back to normal
      near(await waitAfterCheck(a), 2 * interval); // now a's own second failure
    });
  },
);
