// App-only OAuth2 against servers that really check the tokens: a local HTTPS token endpoint that
// implements client_credentials (client secret, and a certificate's client_assertion whose
// signature, x5t, aud and times it verifies) and Google's JWT bearer grant (signature by the service
// account's key, sub = the mailbox); Dovecot's oauth2 passdb introspects every IMAP login there, and
// smtp-server's XOAUTH2 hook asks it whether the token may act as that mailbox. Accounts enter
// through the native API's schema and the one save path, on SQLite and MariaDB.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { saveAccount } from '../../src/accounts/save.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { Core } from '../../src/app.js';
import { AccountChecker } from '../../src/checks/account-checker.js';
import { HostLimiter } from '../../src/checks/host-limiter.js';
import { createEgressResolver } from '../../src/egress/resolver.js';
import { toAccountDraft } from '../../src/http/api/credentials.js';
import { accountInputSchema } from '../../src/http/api/schemas.js';
import type { FailureCode } from '../../src/probes/errors.js';
import { makeCanary, CanaryCorpus, type Canary } from '../helpers/canary.js';
import { testCore, type LogCapture } from '../helpers/core.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { testCerts } from '../peers/certs.js';
import type { Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import {
  makeAppCertificate,
  makeServiceAccount,
  pemCore,
  type AppCertificate,
  type ServiceAccount,
} from './app-credentials.js';
import { startOAuthDovecot, xoauth2SmtpOptions } from './oauth-peers.js';
import { startTokenEndpoint, type TokenEndpoint } from './oauth-token-endpoint.js';

const TENANT_APP = '00000000-0000-4000-8000-00000000a001';
const SERVICE_ACCOUNT = 'mailmon-monitor@mailmon-test.iam.gserviceaccount.com';
const MAILBOXES = [
  'dora',
  'gus',
  ...Array.from({ length: 20 }, (_, i) => `mbx${String(i + 1).padStart(2, '0')}`),
];

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, name, () => describeWithPeer('dovecot', name, fn))
      : describeWithPeer('dovecot', name, fn);

  suite(`app-only OAuth2 against Dovecot and smtp-server on ${dialect.name}`, () => {
    const clientSecret = makeCanary('app-client-secret');
    let cert: AppCertificate;
    let otherCert: AppCertificate;
    let sa: ServiceAccount;
    let t: TestDb;
    let idp: TokenEndpoint;
    let dovecot: Dovecot;
    let smtp: TestSmtpServer;
    let core: Core;
    let logs: LogCapture;
    let caPem: string;

    beforeAll(async () => {
      const certs = await testCerts();
      caPem = certs.caPem;
      [cert, otherCert] = await Promise.all([
        makeAppCertificate('mailmon app'),
        makeAppCertificate('impostor'),
      ]);
      sa = makeServiceAccount(SERVICE_ACCOUNT, 'placeholder');
      idp = await startTokenEndpoint({
        clientId: 'unused',
        clientSecret: 'unused',
        now: () => new Date(),
        tls: { certPem: certs.valid.certPem, keyPem: certs.valid.keyPem },
        app: {
          clientId: TENANT_APP,
          clientSecret: clientSecret.secret,
          certificatePem: cert.certPem,
          serviceAccount: { email: SERVICE_ACCOUNT, publicKeyPem: sa.publicKeyPem },
          mailboxes: MAILBOXES.filter((m) => m !== 'mbx20'), // mbx20: the app is not authorized for it
          introspectionUser: 'dora',
        },
      });
      sa = { ...sa, json: JSON.stringify({ ...JSON.parse(sa.json), token_uri: `${idp.url}/token` }) };
      [t, dovecot, smtp] = await Promise.all([
        dialect.open(),
        startOAuthDovecot({
          introspectionUrl: idp.introspectionUrl,
          users: ['dora', 'gus'].map((user) => ({ user, pass: 'password-not-used-here' })),
        }),
        startSmtpServer(xoauth2SmtpOptions(idp)),
      ]);
      ({ core, logs } = await testCore(t.url));
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([t?.cleanup(), dovecot?.stop(), smtp?.stop(), idp?.close()]);
    });

    /** A checker with its own token cache (a fresh process, as far as tokens go). */
    const newChecker = () =>
      new AccountChecker({
        repo: core.repo,
        probes: core.probes,
        hostLimiter: new HostLimiter(32),
        metrics: core.metrics,
        logger: core.logger,
        checkTokenHost: createEgressResolver(core.config.egress, undefined, 'tokenEndpointPorts'),
        config: { timeoutMs: 5000, failedThreshold: 3, checkIntervalMs: 60_000, extraCaPem: caPem },
      });
    const imapSide = (user: string, oauth: Record<string, unknown>) => ({
      server: '127.0.0.1',
      port: dovecot.imapsPort,
      security: 'tls',
      authType: 'oauth2',
      username: user,
      caPem: dovecot.caPem,
      oauth,
    });
    const smtpSide = (user: string, oauth: Record<string, unknown>) => ({
      server: '127.0.0.1',
      port: smtp.port,
      security: 'starttls',
      authType: 'oauth2',
      username: user,
      caPem: smtp.caPem,
      oauth,
    });
    /** Saved as the native API saves a POST body: its schema, then the one save path. */
    const save = async (body: Record<string, unknown>) => {
      const parsed = accountInputSchema.safeParse(body);
      if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues));
      return saveAccount(core.repo, toAccountDraft(parsed.data, 0));
    };
    const withSecret = { grant: 'client_credentials', clientId: TENANT_APP };
    const secretGrant = () => ({
      ...withSecret,
      tokenUrl: `${idp.url}/token`,
      clientSecret: clientSecret.secret,
      credentialExpiresAt: '2027-06-30',
    });
    const certGrant = (c = cert) => ({
      ...withSecret,
      tokenUrl: `${idp.url}/token`,
      privateKey: c.keyPem,
      certificate: c.certPem,
    });
    const googleGrant = () => ({ grant: 'jwt_bearer', serviceAccountKey: sa.json });
    const outcome = (report: Awaited<ReturnType<AccountChecker['check']>>) =>
      report?.results.map((r) => [r.protocol, r.ok, r.code]);
    const signal = () => new AbortController().signal;
    const requestsSince = (n: number) => idp.tokenRequests.slice(n);
    const ids: number[] = [];

    it('client secret: one tenant token serves the IMAP (Dovecot) and SMTP logins of the account', async () => {
      const id = await save({
        emailAddress: 'dora@example.test',
        incoming: imapSide('dora', secretGrant()),
        outgoing: smtpSide('dora', secretGrant()),
      });
      ids.push(id);
      const before = idp.tokenRequests.length;
      const report = await newChecker().check(id, { signal: signal() });
      expect(outcome(report)).toEqual([
        ['imap', true, null],
        ['smtp', true, null],
      ]);
      expect(requestsSince(before)).toMatchObject([
        {
          status: 200,
          credential: 'secret',
          grant: 'client_credentials',
          scope: 'https://outlook.office365.com/.default',
        },
      ]);
      const issued = idp.issued().at(-1)!;
      expect(dovecot && idp.introspected).toContain(issued);
      const account = await core.repo.getAccount(id);
      expect(account?.incoming?.oauth).toMatchObject({
        grant: 'client_credentials',
        clientSecret: '',
        privateKey: null,
        scope: 'https://outlook.office365.com/.default',
        credentialExpiresAt: new Date('2027-06-30T00:00:00Z'),
      });
    });

    it('certificate: the client_assertion (RS256, x5t, aud, exp) is accepted; notAfter becomes the credential expiry', async () => {
      const id = await save({
        emailAddress: 'dora@example.test',
        incoming: imapSide('dora', certGrant()),
        outgoing: smtpSide('dora', certGrant()),
      });
      ids.push(id);
      const before = idp.tokenRequests.length;
      const report = await newChecker().check(id, { signal: signal() });
      expect(outcome(report)).toEqual([
        ['imap', true, null],
        ['smtp', true, null],
      ]);
      expect(requestsSince(before)).toMatchObject([{ status: 200, credential: 'certificate' }]);
      const notAfter = new Date(new X509Certificate(cert.certPem).validTo);
      expect((await core.repo.getAccount(id))?.incoming?.oauth?.credentialExpiresAt).toEqual(notAfter);
      const text = await core.metrics.metricsText();
      expect(text).toContain(
        `mailmon_oauth_credential_expiry_timestamp_seconds{token_host="${new URL(idp.url).host}",client_id="${TENANT_APP}"} ${notAfter.getTime() / 1000}`,
      );
    });

    it('a certificate the app does not have registered: oauth_client_invalid, Failing', async () => {
      const id = await save({
        emailAddress: 'dora@example.test',
        outgoing: smtpSide('dora', certGrant(otherCert)),
      });
      ids.push(id);
      const report = await newChecker().check(id, { signal: signal() });
      expect(outcome(report)).toEqual([['smtp', false, 'oauth_client_invalid']]);
      expect(report?.results[0]?.reason).toMatch(/AADSTS700027/);
      expect(await core.repo.getAccount(id)).toMatchObject({ accountStatus: AccountStatus.Failing });
    });

    it('Google service account: a token per mailbox (sub), IMAP via Dovecot and SMTP pass', async () => {
      const id = await save({
        emailAddress: 'gus@example.test',
        incoming: imapSide('gus', googleGrant()),
        outgoing: smtpSide('gus', googleGrant()),
      });
      ids.push(id);
      const before = idp.tokenRequests.length;
      const report = await newChecker().check(id, { signal: signal() });
      expect(outcome(report)).toEqual([
        ['imap', true, null],
        ['smtp', true, null],
      ]);
      expect(requestsSince(before)).toMatchObject([
        { status: 200, credential: 'service_account', subject: 'gus' },
      ]);
      const account = await core.repo.getAccount(id);
      expect(account?.incoming?.oauth).toMatchObject({
        grant: 'jwt_bearer',
        tokenUrl: `${idp.url}/token`,
        clientId: SERVICE_ACCOUNT,
        scope: 'https://mail.google.com/',
      });
    });

    it('20 accounts of one tenant checked at once: the tenant token is requested exactly once', async () => {
      const tenantIds: number[] = [];
      for (let i = 1; i <= 19; i++) {
        const user = `mbx${String(i).padStart(2, '0')}`;
        tenantIds.push(
          await save({ emailAddress: `${user}@example.test`, outgoing: smtpSide(user, certGrant()) }),
        );
      }
      tenantIds.push(
        await save({ emailAddress: 'dora@example.test', incoming: imapSide('dora', certGrant()) }),
      );
      ids.push(...tenantIds);
      const checker = newChecker();
      const before = idp.tokenRequests.length;
      const okBefore = await requestCount('client_credentials', 'ok');
      idp.setDelay(300); // the token answer is slow: every check is waiting while it is fetched
      try {
        const reports = await Promise.all(tenantIds.map((id) => checker.check(id, { signal: signal() })));
        expect(reports.flatMap((r) => r?.results.map((x) => x.ok) ?? [])).toEqual(tenantIds.map(() => true));
      } finally {
        idp.setDelay(0);
      }
      expect(requestsSince(before)).toHaveLength(1);
      expect(await requestCount('client_credentials', 'ok')).toBe(okBefore + 1);
      // And the next sweep reuses it: no request at all.
      await Promise.all(tenantIds.slice(0, 5).map((id) => checker.check(id, { signal: signal() })));
      expect(requestsSince(before)).toHaveLength(1);
    });

    const requestCount = async (grant: string, result: string) => {
      const line = (await core.metrics.metricsText())
        .split('\n')
        .find((l) => l.startsWith(`mailmon_oauth_token_requests_total{grant="${grant}",result="${result}"}`));
      return Number(line?.split(' ').at(-1) ?? NaN);
    };

    it("the endpoint's refusals, real and as providers word them, map to their codes", async () => {
      const cases: [string, () => void, Record<string, unknown>, string, FailureCode][] = [
        [
          'wrong client secret',
          () => {},
          { ...secretGrant(), clientSecret: makeCanary('wrong').secret },
          'mbx01',
          'oauth_client_invalid',
        ],
        ['mailbox outside the delegation', () => {}, googleGrant(), 'mbx20', 'oauth_grant_invalid'],
        ...(
          [
            [
              400,
              {
                error: 'invalid_grant',
                error_description:
                  "AADSTS65001: The user or administrator has not consented to use the application with ID '...'.",
              },
              'oauth_consent_missing',
            ],
            [
              400,
              {
                error: 'invalid_request',
                error_description:
                  'AADSTS50105: The signed in user is not assigned to a role for the application.',
              },
              'oauth_consent_missing',
            ],
            [
              401,
              {
                error: 'unauthorized_client',
                error_description: 'Client is unauthorized to retrieve access tokens using this method.',
              },
              'oauth_consent_missing',
            ],
            [
              401,
              {
                error: 'invalid_client',
                error_description: 'AADSTS7000222: The provided client secret keys for app are expired.',
              },
              'oauth_client_invalid',
            ],
            [
              400,
              { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
              'oauth_grant_invalid',
            ],
            [400, { error: 'invalid_scope' }, 'oauth_token_refresh_failed'],
            [503, { error: 'temporarily_unavailable' }, 'oauth_endpoint_unreachable'],
            [200, '<html>sign in</html>', 'oauth_endpoint_unreachable'],
          ] as const
        ).map(([status, body, code]): [string, () => void, Record<string, unknown>, string, FailureCode] => [
          `HTTP ${status} ${JSON.stringify(body).slice(0, 40)}`,
          () =>
            idp.answerNext({
              status,
              body: typeof body === 'string' ? body : JSON.stringify(body),
              ...(typeof body === 'string' ? { contentType: 'text/html' } : {}),
            }),
          secretGrant(),
          'mbx01',
          code,
        ]),
        [
          'nothing listening',
          () => {},
          { ...secretGrant(), tokenUrl: 'https://127.0.0.1:1/token' },
          'mbx01',
          'oauth_endpoint_unreachable',
        ],
      ];
      for (const [name, arrange, oauth, user, code] of cases) {
        const id = await save({ emailAddress: `${user}@example.test`, outgoing: smtpSide(user, oauth) });
        ids.push(id);
        arrange();
        const report = await newChecker().check(id, { signal: signal() });
        expect([name, outcome(report)]).toEqual([name, [['smtp', false, code]]]);
      }
    });

    it('no client secret, private key, service-account key or issued token in logs, results, metrics or the database', async () => {
      const canaries: (Canary | string)[] = [
        clientSecret,
        { secret: cert.keyPem, core: pemCore(cert.keyPem), label: 'certificate private key' },
        { secret: otherCert.keyPem, core: pemCore(otherCert.keyPem), label: 'other private key' },
        { secret: sa.privateKeyPem, core: pemCore(sa.privateKeyPem), label: 'service account key' },
        ...idp.issued(),
      ];
      expect(idp.issued().length).toBeGreaterThan(3);
      const dump: Record<string, unknown> = {};
      for (const table of ['service_auth', 'email_account', 'last_check', 'check_result'])
        dump[table] = await t.db.knex(table).select();
      const corpus = new CanaryCorpus()
        .add('logs', logs.text)
        .add('metrics', await core.metrics.metricsText())
        .add('database rows', JSON.stringify(dump))
        .add('last checks', JSON.stringify(await Promise.all(ids.map((id) => core.repo.lastChecks(id)))));
      corpus.assertClean(canaries);
      expect(corpus.bytes).toBeGreaterThan(10_000);
    });
  });
}
