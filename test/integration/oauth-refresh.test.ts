// OAuth2 refresh before a check, against servers that really check the token: a local token
// endpoint (refresh_token grant, rotating refresh tokens) whose introspection endpoint Dovecot's
// oauth2 passdb asks about every IMAP login, and an smtp-server whose XOAUTH2 hook asks the same
// token store. The checker runs on a fake clock shared with the token endpoint, so "expired" is exact.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AccountInput, ServiceAuthInput } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Core } from '../../src/app.js';
import { AccountChecker } from '../../src/checks/account-checker.js';
import { HostLimiter } from '../../src/checks/host-limiter.js';
import { secretAad } from '../../src/db/account-rows.js';
import { makeCanary, CanaryCorpus, type Canary } from '../helpers/canary.js';
import { testCore, type LogCapture } from '../helpers/core.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import type { Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { startOAuthDovecot, xoauth2SmtpOptions } from './oauth-peers.js';
import { startTokenEndpoint, type TokenEndpoint } from './oauth-token-endpoint.js';

const USER = 'dora';
const CLIENT_ID = 'mailmon-test-client';
const HOUR = 3_600_000;

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, name, () => describeWithPeer('dovecot', name, fn))
      : describeWithPeer('dovecot', name, fn);

  suite(`OAuth2 token refresh before checks on ${dialect.name}`, () => {
    const clientSecret = makeCanary('client-secret');
    const started: Canary[] = [clientSecret];
    let now = new Date('2026-11-22T08:00:00Z');
    let t: TestDb;
    let idp: TokenEndpoint;
    let dovecot: Dovecot;
    let smtp: TestSmtpServer;
    let core: Core;
    let logs: LogCapture;
    let checker: AccountChecker;

    beforeAll(async () => {
      idp = await startTokenEndpoint({
        clientId: CLIENT_ID,
        clientSecret: clientSecret.secret,
        now: () => now,
      });
      [t, dovecot, smtp] = await Promise.all([
        dialect.open(),
        startOAuthDovecot({
          introspectionUrl: `${idp.url}/introspect`,
          users: [{ user: USER, pass: 'password-not-used-here' }],
        }),
        startSmtpServer(xoauth2SmtpOptions(idp)),
      ]);
      ({ core, logs } = await testCore(t.url));
      checker = new AccountChecker({
        repo: core.repo,
        probes: core.probes,
        hostLimiter: new HostLimiter(4),
        metrics: core.metrics,
        logger: core.logger,
        config: { timeoutMs: 5000, failedThreshold: 3, checkIntervalMs: 60_000 },
        clock: () => now,
      });
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([t?.cleanup(), dovecot?.stop(), smtp?.stop(), idp?.close()]);
    });

    const side = (protocol: 'imap' | 'smtp', refreshToken: Canary, password = ''): ServiceAuthInput => ({
      server: '127.0.0.1',
      port: protocol === 'imap' ? dovecot.imapsPort : smtp.port,
      authType: 'oauth2',
      username: USER,
      password,
      security: protocol === 'imap' ? 'tls' : 'starttls',
      acceptUnverifiedCert: false,
      caPem: protocol === 'imap' ? dovecot.caPem : smtp.caPem,
      oauth: {
        tokenUrl: `${idp.url}/token`,
        clientId: CLIENT_ID,
        clientSecret: clientSecret.secret,
        refreshToken: refreshToken.secret,
        scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access',
      },
    });
    const grant = (label: string): Canary => {
      const canary = makeCanary(label);
      started.push(canary);
      idp.grant(canary.secret, USER);
      return canary;
    };
    const check = (id: number) => checker.check(id, { signal: new AbortController().signal });
    const rows = async (id: number) => {
      const account = await t.db.knex('email_account').where('email_account_id', id).first();
      const auth = (authId: number) => t.db.knex('service_auth').where('service_auth_id', authId).first();
      return { imap: await auth(account.incoming_auth), smtp: await auth(account.outgoing_auth) };
    };
    const decrypt = (row: Record<string, string>, column: 'password' | 'oauth_refresh_token') =>
      core.keyring.decrypt(row[column] ?? '', secretAad(Number(row.service_auth_id), column));
    /** Every secret the test or the endpoint made: none may show in clear anywhere. */
    const secrets = () => [...started, ...idp.issued()];
    const assertNoSecretInDatabase = async () => {
      const dump: Record<string, unknown> = {};
      for (const table of ['service_auth', 'email_account', 'last_check', 'check_result'])
        dump[table] = await t.db.knex(table).select();
      new CanaryCorpus().add('database rows', JSON.stringify(dump)).assertClean(secrets());
    };

    let id: number;

    it('an account with only a refresh token: the first check fetches tokens, passes, stores them encrypted', async () => {
      const [imapRt, smtpRt] = [grant('imap-rt'), grant('smtp-rt')];
      [id] = (await core.repo.saveAccounts([
        {
          emailAddress: 'dora@example.test',
          associateId: 1,
          incoming: side('imap', imapRt),
          outgoing: side('smtp', smtpRt),
        },
      ] satisfies AccountInput[])) as [number];

      const report = await check(id);
      expect(report?.results.map((r) => [r.protocol, r.ok, r.code])).toEqual([
        ['imap', true, null],
        ['smtp', true, null],
      ]);
      expect(idp.tokenRequests).toHaveLength(2);
      expect(idp.tokenRequests.every((r) => r.clientOk && r.scope?.includes('offline_access'))).toBe(true);

      const { imap, smtp: smtpRow } = await rows(id);
      for (const [row, rt] of [
        [imap, imapRt],
        [smtpRow, smtpRt],
      ] as const) {
        const access = decrypt(row, 'password');
        const refresh = decrypt(row, 'oauth_refresh_token');
        expect(idp.activeUser(access)).toBe(USER);
        expect(refresh).not.toBe(rt.secret); // rotated, and the rotated one is what is stored
        expect(idp.refreshTokenValid(refresh)).toBe(true);
        expect(Number(row.oauth_access_expires_at)).toBe(now.getTime() + HOUR);
      }
      expect(await core.repo.getAccount(id)).toMatchObject({ accountStatus: AccountStatus.Ok });
      await assertNoSecretInDatabase();
    });

    it('the next check reuses the stored token without asking the token endpoint', async () => {
      const before = idp.tokenRequests.length;
      const stored = decrypt((await rows(id)).imap, 'password');
      now = new Date(now.getTime() + 30 * 60_000);
      const report = await check(id);
      expect(report?.outcome.ok).toBe(true);
      expect(idp.tokenRequests).toHaveLength(before);
      expect(idp.introspected.at(-1)).toBe(stored);
    });

    it('an expired stored token is refreshed first; the rotated refresh token replaces the old one', async () => {
      const { imap: oldRow } = await rows(id);
      const [oldAccess, oldRefresh] = [decrypt(oldRow, 'password'), decrypt(oldRow, 'oauth_refresh_token')];
      now = new Date(now.getTime() + HOUR); // past the token's expiry: the servers would refuse it now
      expect(idp.activeUser(oldAccess)).toBeNull();
      const before = idp.tokenRequests.length;

      const report = await check(id);
      expect(report?.outcome.ok).toBe(true);
      expect(idp.tokenRequests).toHaveLength(before + 2);
      const { imap } = await rows(id);
      expect(decrypt(imap, 'password')).not.toBe(oldAccess);
      expect(decrypt(imap, 'oauth_refresh_token')).not.toBe(oldRefresh);
      expect(idp.refreshTokenValid(oldRefresh)).toBe(false); // so storing the rotated one mattered
      await assertNoSecretInDatabase();
    });

    it('a token given by hand (expiry unknown) is used until refused, then refreshed at the next check', async () => {
      const rt = grant('by-hand-rt');
      const stale = makeCanary('stale-access');
      started.push(stale);
      const [handId] = (await core.repo.saveAccounts([
        {
          emailAddress: 'hand@example.test',
          associateId: 1,
          incoming: side('imap', rt, stale.secret),
          outgoing: null,
        },
      ])) as [number];
      const first = await check(handId);
      expect(first?.results[0]).toMatchObject({ ok: false, code: 'auth_rejected' });
      const second = await check(handId);
      expect(second?.results[0]).toMatchObject({ ok: true });
      expect(await core.repo.getAccount(handId)).toMatchObject({ accountStatus: AccountStatus.Ok });
    });

    it('a save during a refresh wins: the compare-and-set keeps the newer refresh token', async () => {
      now = new Date(now.getTime() + 2 * HOUR);
      const hold = idp.holdToken(decrypt((await rows(id)).imap, 'oauth_refresh_token'));
      const checking = check(id);
      await hold.reached;
      // While the IMAP refresh is in flight, an operator saves a new refresh token (keeping the rest).
      const replacement = grant('saved-meanwhile-rt');
      await core.repo.saveAccounts([
        {
          emailAccountId: id,
          emailAddress: 'dora@example.test',
          associateId: 1,
          incoming: { ...side('imap', replacement), password: undefined },
          outgoing: { ...side('smtp', replacement), password: undefined, oauth: undefined },
        },
      ]);
      hold.release();
      const report = await checking;
      expect(report?.results[0]).toMatchObject({ protocol: 'imap', ok: true }); // the fresh token served this check
      expect(decrypt((await rows(id)).imap, 'oauth_refresh_token')).toBe(replacement.secret);
      expect(logs.text).toContain('a newer stored token was kept');
    });

    it('a token endpoint that never answers: the refresh gives up within the side deadline', async () => {
      const rt = grant('hung-rt');
      const [hungId] = (await core.repo.saveAccounts([
        { emailAddress: 'hung@example.test', associateId: 1, incoming: side('imap', rt), outgoing: null },
      ])) as [number];
      const hold = idp.holdToken(rt.secret);
      const quick = new AccountChecker({
        repo: core.repo,
        probes: core.probes,
        hostLimiter: new HostLimiter(4),
        metrics: core.metrics,
        logger: core.logger,
        config: { timeoutMs: 800, failedThreshold: 3, checkIntervalMs: 60_000 },
        clock: () => now,
      });
      try {
        const startedAt = performance.now();
        const report = await quick.check(hungId, { signal: new AbortController().signal });
        const elapsed = performance.now() - startedAt;
        expect(report?.results[0]).toMatchObject({
          ok: false,
          code: 'oauth_endpoint_unreachable',
          phase: 'auth',
        });
        expect(report?.results[0]?.reason).toMatch(/did not answer in time/);
        expect(elapsed).toBeGreaterThanOrEqual(700);
        expect(elapsed).toBeLessThan(800 + 1000);
      } finally {
        hold.release();
      }
    });

    it('a revoked refresh token: oauth_grant_invalid, Failing with a reason, no secret anywhere', async () => {
      const { imap, smtp: smtpRow } = await rows(id);
      idp.revoke(decrypt(imap, 'oauth_refresh_token'));
      idp.revoke(decrypt(smtpRow, 'oauth_refresh_token'));
      now = new Date(now.getTime() + 2 * HOUR);

      const report = await check(id);
      for (const result of report?.results ?? []) {
        expect(result).toMatchObject({ ok: false, code: 'oauth_grant_invalid', phase: 'auth' });
        expect(result.reason).toMatch(/HTTP 400: invalid_grant/);
      }
      expect(report?.results).toHaveLength(2);
      const account = await core.repo.getAccount(id);
      expect(account).toMatchObject({ accountStatus: AccountStatus.Failing, errorCount: 1 });
      expect(account?.errorReason).toMatch(/^IMAP .*token/i);
      const corpus = new CanaryCorpus()
        .add('logs', logs.text)
        .add('reasons', JSON.stringify(report?.results.map((r) => [r.reason, r.response, r.cause?.message])))
        .add('last checks', JSON.stringify(await core.repo.lastChecks(id)));
      corpus.assertClean(secrets());
      await assertNoSecretInDatabase();
    });
  });
}
