// The leader's per-account export on both dialects: loaded once when the lease is gained, then kept
// up to date from the rows other replicas change (checks, saves, deletions), reading only those rows;
// dropped at once when the lease is lost. The store under the feed is the real one, counted.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountInput, CheckRecord } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import { createKeyring } from '../../src/crypto/keyring.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { AccountViewStore } from '../../src/db/account-view-store.js';
import { createLogger } from '../../src/logging/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { AccountFeed } from '../../src/sweep/account-feed.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { find, parseExposition, value } from '../metrics/exposition.js';
import { describeWithPeer } from '../peers/require.js';

const keyring = createKeyring([{ id: 't', key: randomBytes(32) }], 't');
const ACCOUNTS = 12;

const input = (n: number): AccountInput => ({
  emailAddress: `feed${n}@example.test`,
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

/** What another replica records for a check of the IMAP side. */
const checked = (at: Date, ok: boolean): CheckRecord => ({
  checkedAt: at,
  outcome: ok ? { ok: true, reason: '' } : { ok: false, reason: 'IMAP: authentication failed' },
  sides: [
    {
      side: 'imap',
      checkedAt: at,
      ok,
      code: ok ? null : 'auth_rejected',
      phase: ok ? null : 'auth',
      reason: ok ? null : 'authentication failed',
      durationMs: 12,
      details: {
        phases: [],
        transcript: [],
        tls: { protocol: 'TLSv1.3', cipher: 'x', authorized: true, notAfter: '2031-01-02T00:00:00.000Z' },
        quota: {
          root: 'User quota',
          storageUsedBytes: 95,
          storageLimitBytes: 100,
          messages: null,
          messageLimit: null,
          usageRatio: 0.95,
        },
      } as unknown as CheckRecord['sides'][number]['details'],
    },
  ],
  nextDueAt: new Date(at.getTime() + 300_000),
});

for (const dialect of DIALECTS) {
  const suite = dialect.peer
    ? (fn: () => void) => describeWithPeer(dialect.peer, `leader's account feed on ${dialect.name}`, fn)
    : (fn: () => void) => describe(`leader's account feed on ${dialect.name}`, fn);

  suite(() => {
    let t: TestDb;
    let repo: KnexAccountRepository;
    let ids: number[];

    beforeAll(async () => {
      t = await dialect.open();
      repo = new KnexAccountRepository(t.db.knex, keyring);
      ids = await repo.saveAccounts(Array.from({ length: ACCOUNTS }, (_, i) => input(i)));
    });
    afterAll(async () => t?.cleanup());

    it('loads on gaining the lease, follows other replicas’ writes reading only changed rows, drops on losing it', async () => {
      const metrics = new Metrics({
        perAccountSeries: 'all',
        collectRuntime: false,
        version: 'test',
        checkIntervalSeconds: 300,
      });
      const store = new AccountViewStore(t.db.knex);
      const read = { changed: 0, page: 0 };
      const views = {
        page: async (after: number, limit: number) => {
          const rows = await store.page(after, limit);
          read.page += rows.length;
          return rows;
        },
        changedSince: async (cursor: { updated: number; id: number }, limit: number) => {
          const rows = await store.changedSince(cursor, limit);
          read.changed += rows.length;
          return rows;
        },
      };
      const feed = new AccountFeed(
        { views, repo, metrics, logger: createLogger({ level: 'silent', pretty: false }) },
        { pageSize: 5, maxPagesPerPoll: 10, resyncPageSize: 3, overlapMs: 0 },
      );
      const scrape = async () => parseExposition(await metrics.metricsText());

      feed.drop(); // a replica joins exporting nothing per account
      expect(find(await scrape(), 'mailmon_account_status')).toEqual([]);
      expect(find(await scrape(), 'mailmon_accounts')).toEqual([]);

      const gainedAt = Date.now() + 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await feed.gain(gainedAt)).toBe(ACCOUNTS); // in pages of 5
      let samples = await scrape();
      expect(find(samples, 'mailmon_account_status')).toHaveLength(ACCOUNTS);
      expect(value(samples, 'mailmon_accounts', { status: 'unknown' })).toBe(ACCOUNTS);

      // Another replica records a failure, another deletes an account.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await repo.recordCheck(ids[3]!, checked(new Date(), false), 3);
      await repo.markDeleted(ids[7]!);
      read.changed = 0;
      read.page = 0;
      await feed.poll(Date.now());
      // Only the two changed rows were read by the change scan (and one resync page of 3).
      expect(read.changed).toBe(2);
      expect(read.page).toBe(3);
      samples = await scrape();
      const id3 = { account_id: String(ids[3]) };
      expect(value(samples, 'mailmon_account_status', id3)).toBe(AccountStatus.Failing);
      expect(value(samples, 'mailmon_account_consecutive_failures', id3)).toBe(1);
      expect(value(samples, 'mailmon_check_success', { ...id3, protocol: 'imap' })).toBe(0);
      expect(find(samples, 'mailmon_check_failure_info', { ...id3, code: 'auth_rejected' })).toHaveLength(1);
      expect(value(samples, 'mailmon_mailbox_quota_usage_ratio', id3)).toBe(0.95);
      expect(
        value(samples, 'mailmon_tls_certificate_expiry_timestamp_seconds', {
          host: 'imap.example.test',
          port: '993',
        }),
      ).toBe(Date.parse('2031-01-02T00:00:00.000Z') / 1000);
      expect(find(samples, 'mailmon_account_status', { account_id: String(ids[7]) })).toEqual([]);
      expect(value(samples, 'mailmon_accounts', { status: 'failing' })).toBe(1);
      expect(value(samples, 'mailmon_accounts', { status: 'deleted' })).toBe(1);
      expect(value(samples, 'mailmon_accounts', { status: 'unknown' })).toBe(ACCOUNTS - 2);

      // Nothing changed: the next scan starts after the last one and reads nothing.
      read.changed = 0;
      await feed.poll(Date.now());
      expect(read.changed).toBe(0);

      // An account removed without a trace in `updated` (a writer far behind): the resync finds it.
      await t.db.knex('email_account').where('email_account_id', ids[0]!).update({ account_status: 1 });
      for (let i = 0; i < Math.ceil(ACCOUNTS / 3) + 1; i++) await feed.poll(Date.now());
      expect(find(await scrape(), 'mailmon_account_status', { account_id: String(ids[0]) })).toEqual([]);

      feed.drop();
      samples = await scrape();
      for (const name of [
        'mailmon_account_status',
        'mailmon_check_success',
        'mailmon_accounts',
        'mailmon_mailbox_quota_usage_ratio',
        'mailmon_tls_certificate_expiry_timestamp_seconds',
      ])
        expect([name, find(samples, name)]).toEqual([name, []]);
      // Its own work's aggregates stay.
      expect(find(samples, 'mailmon_checks_total').length).toBeGreaterThan(0);
    });
  });
}
