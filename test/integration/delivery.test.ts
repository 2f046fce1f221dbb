// The delivery round trip end to end: a probe message sent through a real submission server
// (Dovecot submission) that relays to a relay of the test's (an in-process smtp-server) which
// delivers into Dovecot over LMTP — into the INBOX, into Junk, not at all, or late — then found
// over IMAP, timed and deleted by the checker, with the results in the database and the metrics.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ServiceAuthInput } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Core } from '../../src/app.js';
import { KnexDeliveryStore } from '../../src/db/delivery-store.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { testCore, type LogCapture } from '../helpers/core.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { lmtpConf, quotaConf } from '../peers/dovecot-conf.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { lmtpDeliver } from '../peers/lmtp.js';
import { freePorts } from '../peers/ports.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type ReceivedMessage, type TestSmtpServer } from '../peers/smtp.js';

const run = promisify(execFile);
const PASS = 'Delivery-canary-pw-5e1b';
const USERS = ['ann', 'bob', 'cid', 'dee', 'eve'].map((name) => `${name}@localhost`);
/** A mailbox filled to 95 % of the quota every mailbox here has. */
const FULL_USER = 'fay@localhost';
const QUOTA_KIB = 1024;
const WAIT_S = 2.5;
const LOST_AFTER_S = 7;
/** testCore's scheduler.checkTimeoutSeconds. */
const CHECK_TIMEOUT_S = 3;

type RelayMode = 'deliver' | 'junk' | 'drop' | 'hold';

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, name, () => describeWithPeer('dovecot', name, fn))
      : describeWithPeer('dovecot', name, fn);

  suite(`delivery round trip through Dovecot submission and LMTP on ${dialect.name}`, () => {
    let db: TestDb;
    let core: Core;
    let logs: LogCapture;
    let dovecot: Dovecot;
    let relay: TestSmtpServer;
    let lmtpPort: number;
    let mode: RelayMode = 'deliver';
    const held: ReceivedMessage[] = [];

    const deliver = (msg: ReceivedMessage, folder = '') => {
      const [to] = msg.to as [string];
      const [local, domain] = to.split('@') as [string, string];
      return lmtpDeliver(lmtpPort, msg.from, folder ? `${local}+${folder}@${domain}` : to, msg.data);
    };

    beforeAll(async () => {
      [lmtpPort] = (await freePorts(1)) as [number];
      relay = await startSmtpServer({
        users: [],
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        onMessage: async (msg) => {
          if (mode === 'deliver') await deliver(msg);
          else if (mode === 'junk') await deliver(msg, 'Junk');
          else if (mode === 'hold') held.push(msg);
          // 'drop': accepted and never delivered, like a misconfigured relay
        },
      });
      [db, dovecot] = await Promise.all([
        dialect.open(),
        startDovecot({
          users: [...USERS, FULL_USER].map((user) => ({ user, pass: PASS })),
          submission: { relayPort: relay.port },
          extraConf: `${lmtpConf(lmtpPort)}\n${quotaConf({ storageKib: QUOTA_KIB })}`,
        }),
      ]);
      ({ core, logs } = await testCore(db.url, {
        'delivery.waitSeconds': WAIT_S,
        'delivery.lostAfterSeconds': LOST_AFTER_S,
      }));
      // A message of the user's own, flagged \Deleted by their client: it must survive our clean-ups.
      await dovecot.deliver(USERS[0] as string, "Subject: the user's own\r\n\r\nkeep me\r\n");
      await run('doveadm', [
        '-c',
        dovecot.confPath,
        'flags',
        'add',
        '-u',
        USERS[0] as string,
        '\\Deleted',
        'mailbox',
        'INBOX',
        'all',
      ]);
    });
    // 95 % of the quota, in one message: doveadm save goes through the quota plugin like LMTP.
    const fill = () =>
      dovecot.deliver(
        FULL_USER,
        `Subject: big\r\n\r\n${'y'
          .repeat(76)
          .concat('\r\n')
          .repeat(Math.floor((QUOTA_KIB * 1024 * 0.95) / 78))}`,
      );
    afterAll(async () => {
      await core?.close();
      await Promise.all([db?.cleanup(), dovecot?.stop(), relay?.stop()]);
    });
    beforeEach(() => {
      mode = 'deliver';
    });

    const side = (port: number, security: 'tls' | 'starttls', user: string): ServiceAuthInput => ({
      server: '127.0.0.1',
      port,
      authType: 'password',
      username: user,
      password: PASS,
      security,
      acceptUnverifiedCert: false,
      caPem: dovecot.caPem,
    });
    const save = async (user: string, optIn: boolean) => {
      const [id] = await core.repo.saveAccounts([
        {
          emailAddress: user,
          associateId: 1,
          incoming: side(dovecot.imapsPort, 'tls', user),
          outgoing: side(dovecot.submissionPort!, 'starttls', user),
          ...(optIn ? { delivery: { enabled: true, to: null } } : {}),
        },
      ]);
      return id as number;
    };
    const check = async (id: number) => {
      const report = await core.checker.check(id, { signal: new AbortController().signal });
      const smtp = report?.results.find((r) => r.protocol === 'smtp');
      return { report, smtp, account: await core.repo.getAccount(id) };
    };
    /** Messages in a folder, by doveadm (not through mailmon). */
    const count = async (user: string, folder: string, query = ['all']) => {
      const { stdout } = await run('doveadm', [
        '-c',
        dovecot.confPath,
        'search',
        '-u',
        user,
        'mailbox',
        folder,
        ...query,
      ]);
      return stdout.split('\n').filter(Boolean).length;
    };
    const probeCount = async (user: string) =>
      (await count(user, 'INBOX', ['header', 'X-Mailmon-Probe', 'mailmon-'])) +
      (await count(user, 'Junk', ['header', 'X-Mailmon-Probe', 'mailmon-']));
    const pending = (id: number) => new KnexDeliveryStore(db.db.knex).pendingProbes(id);
    const metric = async (line: RegExp) =>
      (await core.metrics.metricsText()).split('\n').find((l) => line.test(l));

    it('delivered: found in the INBOX, timed, deleted; only the probe message is gone', async () => {
      const id = await save(USERS[0] as string, true);
      const { smtp, account } = await check(id);
      expect(smtp).toMatchObject({ ok: true, code: null });
      expect(smtp?.delivery).toMatchObject({ outcome: 'delivered', folder: 'INBOX', pending: 0 });
      expect(smtp?.delivery?.latencyMs).toBeGreaterThan(0);
      // Found within the check: its wait starts once the look's IMAP session is logged in.
      expect(smtp?.delivery?.latencyMs).toBeLessThan((WAIT_S + CHECK_TIMEOUT_S) * 1000);
      console.log(`delivery round trip: ${smtp?.delivery?.latencyMs} ms from accepted to found`);
      expect(account).toMatchObject({ accountStatus: AccountStatus.Ok, errorReason: '' });
      expect(await probeCount(USERS[0] as string)).toBe(0);
      // The user's message flagged \Deleted is still there: we expunged by UID only.
      expect(await count(USERS[0] as string, 'INBOX')).toBe(1);
      expect(await pending(id)).toEqual([]);
      // Stored with the side's last check, for the API and `accounts show`.
      const last = (await core.repo.lastChecks(id)).find((c) => c.side === 'smtp');
      expect(last?.details?.delivery?.outcome).toBe('delivered');
      expect(await metric(/^mailmon_delivery_checks_total\{outcome="delivered"\}/)).toMatch(/ [1-9]\d*$/);
      expect(
        await metric(new RegExp(`^mailmon_delivery_last_latency_seconds\\{account_id="${id}"\\}`)),
      ).toBeDefined();
      expect(await metric(/^mailmon_delivery_latency_seconds_count\{folder="inbox"\}/)).toMatch(/ [1-9]\d*$/);
    });

    it('junk: filed into the Junk folder gives the delivery_junk warning, status stays Ok', async () => {
      mode = 'junk';
      const id = await save(USERS[1] as string, true);
      const { smtp, account } = await check(id);
      expect(smtp).toMatchObject({ ok: true, code: null });
      expect(smtp?.delivery).toMatchObject({ outcome: 'junk', folder: 'Junk' });
      expect(smtp?.warning?.code).toBe('delivery_junk');
      expect(account?.accountStatus).toBe(AccountStatus.Ok);
      expect(account?.errorReason).toMatch(
        /^SMTP delivery probe filed as junk: arrived in Junk after \d+\.\d s/,
      );
      expect(await probeCount(USERS[1] as string)).toBe(0);
    });

    it('a relay that drops the message: pending (not a failure), then lost after the limit', async () => {
      mode = 'drop';
      const id = await save(USERS[2] as string, true);
      const first = await check(id);
      expect(first.smtp).toMatchObject({ ok: true, code: null });
      expect(first.smtp?.delivery).toMatchObject({ outcome: 'pending', latencyMs: null, pending: 1 });
      expect(first.account?.accountStatus).toBe(AccountStatus.Ok);
      expect(await pending(id)).toHaveLength(1);

      await sleep(LOST_AFTER_S * 1000);
      const second = await check(id);
      expect(second.smtp).toMatchObject({ ok: false, code: 'delivery_lost', phase: 'data' });
      expect(second.smtp?.reason).toMatch(
        /^SMTP delivery probe lost: sent \S+ to the mailbox, not in INBOX or Junk after/,
      );
      expect(second.account).toMatchObject({ accountStatus: AccountStatus.Failing, errorCount: 1 });
      // The first is settled as lost; the second check's own probe is the one still awaited.
      expect(await pending(id)).toHaveLength(1);
      expect(await metric(/^mailmon_delivery_checks_total\{outcome="lost"\}/)).toMatch(/ [1-9]\d*$/);

      // The relay works again: the next check is Ok, and every probe message ever relayed went
      // to this account's own address and nowhere else.
      mode = 'deliver';
      const third = await check(id);
      expect(third.account?.accountStatus).toBe(AccountStatus.Ok);
      const relayed = relay.messages.filter((m) => m.data.includes('X-Mailmon-Probe'));
      expect(relayed.length).toBeGreaterThan(0);
      for (const m of relayed) expect([USERS.includes(m.to[0] as string), m.to.length]).toEqual([true, 1]);
      expect(relayed.filter((m) => m.from === USERS[2]).every((m) => m.to[0] === USERS[2])).toBe(true);
    });

    it('a late arrival is recognised, measured and cleaned up at the next check', async () => {
      mode = 'hold';
      const id = await save(USERS[3] as string, true);
      const first = await check(id);
      expect(first.smtp?.delivery?.outcome).toBe('pending');
      expect(held).toHaveLength(1);
      // The relay finally delivers it; the next check finds both it and its own probe.
      await deliver(held.shift() as ReceivedMessage);
      mode = 'deliver';
      const second = await check(id);
      expect(second.smtp?.delivery).toMatchObject({ outcome: 'delivered', pending: 0 });
      const arrivals = second.smtp?.delivery?.arrivals ?? [];
      expect(arrivals.map((a) => a.late).sort()).toEqual([false, true]);
      const late = arrivals.find((a) => a.late);
      expect(late?.latencyMs).toBeGreaterThanOrEqual(0);
      expect(late?.latencyMs).toBeLessThan(LOST_AFTER_S * 1000 + 1000);
      expect(await probeCount(USERS[3] as string)).toBe(0);
      expect(await pending(id)).toEqual([]);
    });

    it('a sweep sample sends for an account that did not opt in; unsampled ones send nothing', async () => {
      const id = await save(USERS[4] as string, false);
      const before = relay.messages.length;
      const plain = await check(id);
      expect(plain.smtp?.delivery).toBeUndefined();
      expect(relay.messages.length).toBe(before);
      const summary = await runSweep(core, {
        signal: new AbortController().signal,
        concurrency: 2,
        accountIds: [id],
        deliverySample: 1,
        keepReports: true,
      });
      const smtp = summary.reports[0]?.results.find((r) => r.protocol === 'smtp');
      expect(smtp?.delivery?.outcome).toBe('delivered');
      expect(await probeCount(USERS[4] as string)).toBe(0);
    });

    it('the password never reaches a probe message, a stored result, the metrics or the log', async () => {
      expect(relay.messages.length).toBeGreaterThan(0);
      for (const m of relay.messages) expect(m.data).not.toContain(PASS);
      const rows = (await db.db.knex('last_check').select('details', 'reason')) as { details: string }[];
      expect(rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(rows)).not.toContain(PASS);
      expect(await core.metrics.metricsText()).not.toContain(PASS);
      expect(logs.text).not.toContain(PASS);
    });

    it('quota: a nearly full mailbox stays Ok with the warning as its ErrorReason; stored and exported', async () => {
      await fill();
      const id = await save(FULL_USER, false);
      const { report, account } = await check(id);
      const imap = report?.results.find((r) => r.protocol === 'imap');
      expect(imap).toMatchObject({ ok: true, code: null, warning: { code: 'quota_nearly_full' } });
      expect(account?.accountStatus).toBe(AccountStatus.Ok);
      expect(account?.errorReason).toMatch(
        /^IMAP mailbox nearly full: 9\d % used: 9\d\d of 1024 KiB \(127\.0\.0\.1:\d+\)$/,
      );
      const last = (await core.repo.lastChecks(id)).find((c) => c.side === 'imap');
      expect(last?.details?.quota?.storageLimitBytes).toBe(QUOTA_KIB * 1024);
      expect(last?.details?.warning?.code).toBe('quota_nearly_full');
      expect(
        await metric(new RegExp(`^mailmon_mailbox_quota_usage_ratio\\{account_id="${id}"\\} 0\\.9`)),
      ).toBeDefined();
      expect(await metric(/^mailmon_mailbox_quota_warning_accounts /)).toBe(
        'mailmon_mailbox_quota_warning_accounts 1',
      );
    });

    it('afterwards no mailbox holds a probe message', async () => {
      // INBOX and Junk of every account, read by doveadm: nothing piled up anywhere.
      for (const user of USERS) expect(await probeCount(user), user).toBe(0);
    });
  });
}
