// A side removed from an account (outgoing set to null) stops being exported: after the account's
// next check its per-side series and its old server's certificate are gone from /metrics, and a
// restart (metrics restored from the database) does not bring them back. Real Dovecot, smtp-server
// and both database dialects.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AccountInput, ServiceAuthInput } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Core } from '../../src/app.js';
import { AccountViewStore } from '../../src/db/account-view-store.js';
import { AccountFeed } from '../../src/sweep/account-feed.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { testCore } from '../helpers/core.js';
import { find, parseExposition, type Sample } from '../metrics/exposition.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';

const GOOD_PW = 'Removed-side-good-5b1e';
const BAD_PW = 'Removed-side-bad-c47a';

const SIDE_FAMILIES = [
  'mailmon_check_success',
  'mailmon_last_check_timestamp_seconds',
  'mailmon_last_success_timestamp_seconds',
  'mailmon_check_failure_info',
];

for (const dialect of DIALECTS) {
  const peerSuite = (name: string, fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, name, () => describeWithPeer('dovecot', name, fn))
      : describeWithPeer('dovecot', name, fn);

  peerSuite(`a removed side stops being exported, also after a restart, on ${dialect.name}`, () => {
    let db: TestDb;
    let core: Core;
    let dovecot: Dovecot;
    let smtp: TestSmtpServer;

    beforeAll(async () => {
      [db, dovecot, smtp] = await Promise.all([
        dialect.open(),
        startDovecot({ users: [{ user: 'alice', pass: GOOD_PW }] }),
        startSmtpServer({ users: [{ user: 'alice', pass: GOOD_PW }] }),
      ]);
      ({ core } = await testCore(db.url));
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([db?.cleanup(), dovecot?.stop(), smtp?.stop()]);
    });

    const imapSide = (): ServiceAuthInput => ({
      server: '127.0.0.1',
      port: dovecot.imapsPort,
      authType: 'password',
      username: 'alice',
      password: GOOD_PW,
      security: 'tls',
      acceptUnverifiedCert: false,
      caPem: dovecot.caPem,
    });
    const smtpSide = (): ServiceAuthInput => ({
      server: '127.0.0.1',
      port: smtp.port,
      authType: 'password',
      username: 'alice',
      password: BAD_PW,
      security: 'starttls',
      acceptUnverifiedCert: false,
      caPem: smtp.caPem,
    });
    const account = (outgoing: ServiceAuthInput | null, id = 0): AccountInput => ({
      emailAccountId: id,
      emailAddress: 'alice@example.test',
      associateId: 1,
      incoming: imapSide(),
      outgoing,
    });

    const check = (id: number) => core.checker.check(id, { signal: new AbortController().signal });
    const scrape = async (metrics: Metrics): Promise<Sample[]> =>
      parseExposition(await metrics.metricsText());
    const sideSeries = (samples: Sample[], id: number, protocol: string) =>
      SIDE_FAMILIES.flatMap((name) => find(samples, name, { account_id: String(id), protocol }));
    const certificatePorts = (samples: Sample[]) =>
      find(samples, 'mailmon_tls_certificate_expiry_timestamp_seconds', { host: '127.0.0.1' })
        .map((s) => Number(s.labels.port))
        .sort((a, b) => a - b);

    it('drops the side at the next check, and does not restore it after a restart', async () => {
      const [id] = (await core.repo.saveAccounts([account(smtpSide())])) as [number];
      const first = await check(id);
      expect(first?.recorded?.after.status).toBe(AccountStatus.Failing);
      let samples = await scrape(core.metrics);
      // The failing SMTP side is exported, with the certificate its STARTTLS showed.
      expect(
        find(samples, 'mailmon_check_success', { account_id: String(id), protocol: 'smtp' })[0]?.value,
      ).toBe(0);
      expect(
        find(samples, 'mailmon_check_failure_info', { account_id: String(id), protocol: 'smtp' }),
      ).toHaveLength(1);
      expect(certificatePorts(samples)).toEqual([dovecot.imapsPort, smtp.port].sort((a, b) => a - b));

      // SMTP is no longer tested.
      await core.repo.saveAccounts([account(null, id)]);
      expect((await core.repo.lastChecks(id)).map((c) => c.side)).toEqual(['imap']);
      const second = await check(id);
      expect(second?.results.map((r) => r.protocol)).toEqual(['imap']);
      expect(second?.recorded?.after.status).toBe(AccountStatus.Ok);

      samples = await scrape(core.metrics);
      expect(sideSeries(samples, id, 'smtp')).toEqual([]);
      expect(sideSeries(samples, id, 'imap').length).toBeGreaterThan(0);
      expect(certificatePorts(samples)).toEqual([dovecot.imapsPort]);

      // A restart (or another replica gaining the leader lease): a fresh Metrics loaded from the database.
      const restarted = new Metrics({
        perAccountSeries: 'all',
        collectRuntime: false,
        version: 'test',
        checkIntervalSeconds: 300,
      });
      const views = new AccountViewStore(core.db.knex);
      await new AccountFeed({ views, repo: core.repo, metrics: restarted, logger: core.logger }).gain(
        Date.now(),
      );
      samples = await scrape(restarted);
      expect(sideSeries(samples, id, 'smtp')).toEqual([]);
      expect(
        find(samples, 'mailmon_check_success', { account_id: String(id), protocol: 'imap' })[0]?.value,
      ).toBe(1);
      expect(certificatePorts(samples)).toEqual([dovecot.imapsPort]);
      // History is history: the SMTP failure is still in it.
      expect((await core.repo.history(id)).map((h) => h.side).sort()).toEqual(['imap', 'imap', 'smtp']);
    });
  });
}
