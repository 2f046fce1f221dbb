// OAuth2 refresh settings through the native API over real HTTP, on SQLite and MariaDB: create,
// read back (secrets only ever as the mask), update with the mask (stored secrets kept) or with new
// secrets, refusals naming the field with nothing stored; then, against Dovecot and smtp-server that
// check every token at a local token endpoint, an account created through the API refreshes its
// token and logs in on `POST /api/v1/accounts/{id}/test`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStatus } from '../../src/accounts/types.js';
import { CanaryCorpus, makeCanary, type Canary } from '../helpers/canary.js';
import type { Dovecot } from '../peers/dovecot.js';
import { createTestDatabase, type TestDatabase } from '../peers/mariadb.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { startOAuthDovecot, xoauth2SmtpOptions } from '../integration/oauth-peers.js';
import { startTokenEndpoint, type TokenEndpoint } from '../integration/oauth-token-endpoint.js';
import { startApi, type ApiServer } from './helpers.js';

const TOKEN_URL = 'https://login.example.test/tenant/oauth2/v2.0/token';
const SCOPE = 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access';

type Body = Record<string, unknown>;

const DIALECTS = [
  { name: 'sqlite', peer: undefined, database: async (): Promise<TestDatabase | null> => null },
  { name: 'mariadb', peer: 'mariadb' as const, database: createTestDatabase },
];

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer ? describeWithPeer(dialect.peer, name, fn) : describe(name, fn);

  suite(`native API: OAuth2 settings on ${dialect.name}`, () => {
    const C = {
      clientSecret: makeCanary('api-client-secret'),
      refresh: makeCanary('api-refresh'),
      refresh2: makeCanary('api-refresh-2'),
      otherSecret: makeCanary('api-other-secret'),
      access: makeCanary('api-access-token'),
      password: makeCanary('api-smtp-password'),
    };
    const canaries: Canary[] = Object.values(C);
    let database: TestDatabase | null;
    let api: ApiServer;

    beforeAll(async () => {
      database = await dialect.database();
      api = await startApi(database === null ? {} : { overrides: { 'database.url': database.url } });
    });
    afterAll(async () => {
      if (api) {
        const corpus = new CanaryCorpus()
          .add('response bodies', api.bodies.join('\n'))
          .add('log', api.logs.text)
          .add('service_auth rows', JSON.stringify(await api.core.db.knex('service_auth').select()));
        await api.close();
        corpus.assertClean(canaries);
      }
      await database?.drop();
    });

    const oauth = (extra: Body = {}): Body => ({
      tokenUrl: TOKEN_URL,
      clientId: 'mailmon-client',
      clientSecret: C.clientSecret.secret,
      refreshToken: C.refresh.secret,
      scope: SCOPE,
      ...extra,
    });
    const imap = (extra: Body = {}): Body => ({
      server: 'outlook.office365.com',
      port: 993,
      authType: 'oauth2',
      username: 'dora@example.test',
      oauth: oauth(),
      ...extra,
    });
    const smtp = (extra: Body = {}): Body => ({
      server: 'smtp.example.test',
      port: 587,
      username: 'dora',
      password: C.password.secret,
      ...extra,
    });
    const post = (body: Body) => api.request('POST', '/api/v1/accounts', { body });
    const put = (id: number, body: Body) => api.request('PUT', `/api/v1/accounts/${id}`, { body });
    const stored = async (id: number) => (await api.core.repo.getAccountWithSecrets(id))!;
    const create = async (address: string, incoming: Body = imap()): Promise<number> => {
      const res = await post({ emailAddress: address, incoming, outgoing: smtp() });
      expect(res.status, res.text).toBe(201);
      return res.json.id as number;
    };

    it('creates an oauth2 side with only a refresh token: settings shown, secrets masked, stored encrypted', async () => {
      const res = await post({ emailAddress: 'dora@example.test', incoming: imap(), outgoing: smtp() });
      expect(res.status, res.text).toBe(201);
      const expected = {
        server: 'outlook.office365.com',
        authType: 'oauth2',
        password: '****',
        oauth: {
          tokenUrl: TOKEN_URL,
          clientId: 'mailmon-client',
          clientSecret: '****',
          refreshToken: '****',
          scope: SCOPE,
          accessExpiresAt: null,
          grant: 'refresh_token',
          privateKey: null,
          certThumbprint: null,
          credentialExpiresAt: null,
        },
      };
      expect(res.json.incoming).toMatchObject(expected);
      expect(res.json.outgoing.oauth).toBeNull();
      const id = res.json.id as number;

      const got = await api.request('GET', `/api/v1/accounts/${id}`);
      expect(got.json.incoming).toEqual(expect.objectContaining(expected));
      const list = await api.request('GET', '/api/v1/accounts');
      expect(list.json.items.find((a: { id: number }) => a.id === id).incoming.oauth).toEqual(expected.oauth);

      const account = await stored(id);
      // No access token yet: the first check fetches one.
      expect(account.incoming).toMatchObject({ password: '', authType: 'oauth2' });
      expect(account.incoming?.oauth).toEqual({
        tokenUrl: TOKEN_URL,
        clientId: 'mailmon-client',
        clientSecret: C.clientSecret.secret,
        refreshToken: C.refresh.secret,
        scope: SCOPE,
        accessExpiresAt: null,
        grant: 'refresh_token',
        privateKey: null,
        certThumbprint: null,
        credentialExpiresAt: null,
      });
      expect(account.outgoing?.password).toBe(C.password.secret);
    });

    it('a public client with an access token given: clientSecret null, the password stored', async () => {
      const res = await post({
        emailAddress: 'public@example.test',
        incoming: imap({
          password: C.access.secret,
          oauth: oauth({ clientSecret: undefined, scope: undefined, tokenUrl: 'http://127.0.0.1:9/token' }),
        }),
      });
      expect(res.status, res.text).toBe(201);
      expect(res.json.incoming.oauth).toMatchObject({
        clientSecret: null,
        refreshToken: '****',
        scope: null,
      });
      const account = await stored(res.json.id);
      expect(account.incoming?.password).toBe(C.access.secret);
      expect(account.incoming?.oauth).toMatchObject({ clientSecret: null, scope: null });
    });

    it('update: what GET returned, PUT back as is, keeps every stored secret', async () => {
      const id = await create('roundtrip@example.test', imap({ password: C.access.secret }));
      const before = await stored(id);
      const got = await api.request('GET', `/api/v1/accounts/${id}`);
      const { incoming, outgoing } = got.json;
      const res = await put(id, { emailAddress: 'roundtrip2@example.test', incoming, outgoing });
      expect(res.status, res.text).toBe(200);
      expect(res.json.incoming.oauth).toEqual(got.json.incoming.oauth);
      const after = await stored(id);
      expect(after.emailAddress).toBe('roundtrip2@example.test');
      expect(after.incoming?.password).toBe(C.access.secret);
      expect(after.incoming?.oauth).toEqual(before.incoming?.oauth);

      // "" and absent keep too, and an absent oauth object keeps the stored settings.
      const kept = await put(id, {
        emailAddress: 'roundtrip2@example.test',
        incoming: imap({ oauth: oauth({ clientSecret: '', refreshToken: undefined, scope: 'IMAP' }) }),
      });
      expect(kept.status, kept.text).toBe(200);
      expect(kept.json.incoming.oauth).toMatchObject({ clientSecret: '****', scope: 'IMAP' });
      const absent = await put(id, {
        emailAddress: 'roundtrip2@example.test',
        incoming: imap({ oauth: undefined }),
      });
      expect(absent.status, absent.text).toBe(200);
      expect(absent.json.incoming.oauth).toMatchObject({ scope: 'IMAP', refreshToken: '****' });
      expect((await stored(id)).incoming).toMatchObject({
        password: C.access.secret,
        oauth: { clientSecret: C.clientSecret.secret, refreshToken: C.refresh.secret, scope: 'IMAP' },
      });
    });

    it('update: a new refresh token replaces the stored one and drops the access token of the old grant', async () => {
      const id = await create('rotate@example.test', imap({ password: C.access.secret }));
      const res = await put(id, {
        emailAddress: 'rotate@example.test',
        incoming: imap({
          password: '****',
          oauth: oauth({ clientSecret: '****', refreshToken: C.refresh2.secret }),
        }),
      });
      expect(res.status, res.text).toBe(200);
      expect(res.json.incoming.oauth).toMatchObject({ clientSecret: '****', refreshToken: '****' });
      const account = await stored(id);
      expect(account.incoming?.oauth).toMatchObject({
        clientSecret: C.clientSecret.secret,
        refreshToken: C.refresh2.secret,
      });
      expect(account.incoming?.password).toBe('');

      // A new token endpoint with all its secrets; then null makes it a public client.
      const moved = await put(id, {
        emailAddress: 'rotate@example.test',
        incoming: imap({
          oauth: oauth({
            tokenUrl: 'https://login2.example.test/token',
            clientSecret: C.otherSecret.secret,
            refreshToken: C.refresh.secret,
          }),
        }),
      });
      expect(moved.status, moved.text).toBe(200);
      expect((await stored(id)).incoming?.oauth).toMatchObject({
        tokenUrl: 'https://login2.example.test/token',
        clientSecret: C.otherSecret.secret,
        refreshToken: C.refresh.secret,
      });
      const publicClient = await put(id, {
        emailAddress: 'rotate@example.test',
        incoming: imap({
          oauth: oauth({
            tokenUrl: 'https://login2.example.test/token',
            clientSecret: null,
            refreshToken: '****',
          }),
        }),
      });
      expect(publicClient.status, publicClient.text).toBe(200);
      expect(publicClient.json.incoming.oauth.clientSecret).toBeNull();
      expect((await stored(id)).incoming?.oauth).toMatchObject({
        clientSecret: null,
        refreshToken: C.refresh.secret,
      });
    });

    it('update: oauth null removes the settings; another authType drops them', async () => {
      const id = await create('remove@example.test', imap({ password: C.access.secret }));
      const removed = await put(id, { emailAddress: 'remove@example.test', incoming: imap({ oauth: null }) });
      expect(removed.status, removed.text).toBe(200);
      expect(removed.json.incoming).toMatchObject({ authType: 'oauth2', oauth: null });
      expect((await stored(id)).incoming).toMatchObject({ password: C.access.secret, oauth: null });

      const id2 = await create('switch@example.test');
      const switched = await put(id2, {
        emailAddress: 'switch@example.test',
        incoming: imap({ authType: 'password', oauth: undefined, password: C.password.secret }),
      });
      expect(switched.status, switched.text).toBe(200);
      expect(switched.json.incoming).toMatchObject({ authType: 'password', oauth: null });
      expect((await stored(id2)).incoming?.oauth).toBeNull();
    });

    it('refuses invalid settings with 400 naming the field, echoing no secret, storing nothing', async () => {
      const total = (await api.core.repo.listAccounts()).total;
      const cases: [Body, string, RegExp][] = [
        [imap({ authType: 'password', password: 'x-pw' }), 'incoming.oauth', /only for authType "oauth2"/],
        [imap({ authType: undefined }), 'incoming.oauth', /only for authType "oauth2"/],
        [
          imap({ oauth: oauth({ tokenUrl: 'http://login.example.test/token' }) }),
          'incoming.oauth.tokenUrl',
          /https/,
        ],
        [imap({ oauth: oauth({ tokenUrl: 'ftp://127.0.0.1/token' }) }), 'incoming.oauth.tokenUrl', /https/],
        [imap({ oauth: oauth({ tokenUrl: 'not a url' }) }), 'incoming.oauth.tokenUrl', /https/],
        [
          imap({ oauth: oauth({ tokenUrl: `https://u:${C.otherSecret.secret}@login.example.test/t` }) }),
          'incoming.oauth.tokenUrl',
          /user name or password/,
        ],
        [imap({ oauth: oauth({ clientId: '' }) }), 'incoming.oauth.clientId', /required/],
        [
          imap({ oauth: oauth({ refreshToken: undefined }) }),
          'incoming.oauth.refreshToken',
          /required for new/,
        ],
        [imap({ oauth: oauth({ refreshToken: '****' }) }), 'incoming.oauth.refreshToken', /required for new/],
        [
          imap({ oauth: oauth({ refreshToken: `${C.refresh2.secret}\r\nX: y` }) }),
          'incoming.oauth.refreshToken',
          /line breaks/,
        ],
        [
          imap({ oauth: oauth({ clientSecret: `${C.otherSecret.secret}\n` }) }),
          'incoming.oauth.clientSecret',
          /line breaks/,
        ],
        [imap({ oauth: oauth({ scope: 'a\nb' }) }), 'incoming.oauth.scope', /line breaks/],
        [imap({ oauth: oauth({ extra: 1 }) }), 'incoming.oauth', /.+/],
        [imap({ oauth: 'yes' }), 'incoming.oauth', /.+/],
        [imap({ oauth: undefined }), 'incoming.password', /required for new credentials/],
      ];
      for (const [incoming, path, message] of cases) {
        const res = await post({ emailAddress: 'bad@example.test', incoming, outgoing: smtp() });
        expect(res.status, `${path}: ${res.text}`).toBe(400);
        expect(res.json.issues, path).toEqual(
          expect.arrayContaining([{ path, message: expect.stringMatching(message) }]),
        );
      }
      // A valid side next to an invalid one is not stored either.
      const half = await post({
        emailAddress: 'half@example.test',
        incoming: imap(),
        outgoing: smtp({ authType: 'oauth2', oauth: oauth({ refreshToken: undefined }) }),
      });
      expect(half.status).toBe(400);
      expect(half.json.issues).toEqual([
        { path: 'outgoing.oauth.refreshToken', message: 'is required for new OAuth settings' },
      ]);
      expect((await api.core.repo.listAccounts()).total).toBe(total);
    });

    it('app-only client credentials: created with 201, secret masked and encrypted, bad input 400 with nothing stored', async () => {
      const app = { grant: 'client_credentials', tokenUrl: TOKEN_URL, clientId: 'tenant-app' };
      const total = (await api.core.repo.listAccounts()).total;
      for (const [oauthBody, path, message] of [
        [
          { ...app, clientSecret: C.otherSecret.secret, refreshToken: C.refresh2.secret },
          'incoming.oauth.refreshToken',
          /not used by grant client_credentials/,
        ],
        [{ ...app, privateKey: `${C.otherSecret.secret}` }, 'incoming.oauth.privateKey', /RSA private key/],
        [{ ...app }, 'incoming.oauth.clientSecret', /or a certificate \(privateKey\) is required/],
        [
          { ...app, clientSecret: 'x', credentialExpiresAt: 'soon' },
          'incoming.oauth.credentialExpiresAt',
          /must be a date/,
        ],
        [
          {
            grant: 'jwt_bearer',
            serviceAccountKey: {
              type: 'service_account',
              client_email: 'a@b.c',
              private_key: C.otherSecret.secret,
            },
          },
          'incoming.oauth.serviceAccountKey',
          /private_key/,
        ],
      ] as [Body, string, RegExp][]) {
        const res = await post({
          emailAddress: 'app@example.test',
          incoming: imap({ oauth: oauthBody }),
          outgoing: smtp(),
        });
        expect(res.status, `${path}: ${res.text}`).toBe(400);
        expect(res.json.issues, path).toEqual(
          expect.arrayContaining([{ path, message: expect.stringMatching(message) }]),
        );
      }
      expect((await api.core.repo.listAccounts()).total).toBe(total);

      const res = await post({
        emailAddress: 'app@example.test',
        incoming: imap({
          oauth: { ...app, clientSecret: C.clientSecret.secret, credentialExpiresAt: '2027-06-30' },
        }),
        outgoing: smtp(),
      });
      expect(res.status, res.text).toBe(201);
      expect(res.json.incoming.oauth).toEqual({
        grant: 'client_credentials',
        tokenUrl: TOKEN_URL,
        clientId: 'tenant-app',
        clientSecret: '****',
        refreshToken: null,
        privateKey: null,
        certThumbprint: null,
        credentialExpiresAt: '2027-06-30T00:00:00.000Z',
        scope: 'https://outlook.office365.com/.default',
        accessExpiresAt: null,
      });
      const row = await api.core.db
        .knex('service_auth')
        .where('service_auth_id', (await stored(res.json.id)).incoming!.serviceAuthId)
        .first();
      expect(row.oauth_client_secret).toMatch(/^mm1:/);
      expect(row.oauth_grant).toBe('client_credentials');
      expect((await stored(res.json.id)).incoming?.oauth?.clientSecret).toBe(C.clientSecret.secret);
    });

    it('update: a kept refresh token or client secret stays with its token endpoint and its server', async () => {
      const id = await create('redirect@example.test', imap({ password: C.access.secret }));
      const before = await stored(id);
      const kept = { clientSecret: '****', refreshToken: '****' };
      const cases: [Body, string, RegExp][] = [
        [
          imap({ oauth: oauth({ ...kept, tokenUrl: 'https://evil.example.test/token' }) }),
          'incoming.oauth.refreshToken',
          /required when tokenUrl or clientId changes/,
        ],
        [
          imap({ oauth: oauth({ ...kept, clientId: 'other-client' }) }),
          'incoming.oauth.refreshToken',
          /required when tokenUrl or clientId changes/,
        ],
        [
          imap({
            oauth: oauth({ clientSecret: '****', clientId: 'other-client', refreshToken: C.refresh2.secret }),
          }),
          'incoming.oauth.clientSecret',
          /required when tokenUrl or clientId changes/,
        ],
        // The tokens a kept refresh token gets go to the side's server: even with a new password.
        [
          imap({ server: 'evil.example.test', password: 'new-pw', oauth: oauth(kept) }),
          'incoming.oauth.refreshToken',
          /required when server changes/,
        ],
        [
          imap({ server: 'evil.example.test', password: 'new-pw', oauth: undefined }),
          'incoming.oauth.refreshToken',
          /required when server changes/,
        ],
        [
          imap({ port: 1993, oauth: oauth(kept) }),
          'incoming.oauth.refreshToken',
          /required when port changes/,
        ],
        [
          imap({ username: 'mallory', oauth: oauth(kept) }),
          'incoming.oauth.refreshToken',
          /required when username changes/,
        ],
        [
          imap({ acceptUnverifiedCert: true, oauth: oauth(kept) }),
          'incoming.oauth.refreshToken',
          /required when acceptUnverifiedCert changes/,
        ],
        // A stored access token too.
        [
          imap({ server: 'evil.example.test', oauth: null }),
          'incoming.password',
          /required when server changes/,
        ],
      ];
      for (const [incoming, path, message] of cases) {
        const res = await put(id, { emailAddress: 'redirect@example.test', incoming });
        expect(res.status, `${path}: ${res.text}`).toBe(400);
        expect(res.json.issues, path).toEqual([{ path, message: expect.stringMatching(message) }]);
      }
      expect(await stored(id)).toEqual(before);

      // With a new refresh token the move is fine: the old access token goes, the new grant gets one.
      const moved = await put(id, {
        emailAddress: 'redirect@example.test',
        incoming: imap({
          server: 'imap2.example.test',
          oauth: oauth({ clientSecret: '****', refreshToken: C.refresh2.secret }),
        }),
      });
      expect(moved.status, moved.text).toBe(200);
      expect((await stored(id)).incoming).toMatchObject({
        server: 'imap2.example.test',
        password: '',
        oauth: { clientSecret: C.clientSecret.secret, refreshToken: C.refresh2.secret },
      });
    });
  });
}

const USER = 'dora';
const CLIENT_ID = 'mailmon-api-client';

describeWithPeer('dovecot', 'native API: an OAuth2 account refreshes its token on an on-demand test', () => {
  const clientSecret = makeCanary('e2e-client-secret');
  const started: Canary[] = [clientSecret];
  let idp: TokenEndpoint;
  let dovecot: Dovecot;
  let smtp: TestSmtpServer;
  let api: ApiServer;

  beforeAll(async () => {
    idp = await startTokenEndpoint({
      clientId: CLIENT_ID,
      clientSecret: clientSecret.secret,
      now: () => new Date(),
    });
    // Dovecot's oauth2 passdb asks the token endpoint's introspection about every token;
    // smtp-server's XOAUTH2 hook asks the same token store.
    [dovecot, smtp, api] = await Promise.all([
      startOAuthDovecot({
        introspectionUrl: `${idp.url}/introspect`,
        users: [{ user: USER, pass: 'password-not-used-here' }],
      }),
      startSmtpServer(xoauth2SmtpOptions(idp)),
      startApi(),
    ]);
  });
  afterAll(async () => {
    if (api) {
      const corpus = new CanaryCorpus()
        .add('response bodies', api.bodies.join('\n'))
        .add('log', api.logs.text)
        .add('service_auth rows', JSON.stringify(await api.core.db.knex('service_auth').select()));
      await api.close();
      corpus.assertClean([...started, ...idp.issued()]);
    }
    await Promise.all([dovecot?.stop(), smtp?.stop(), idp?.close()]);
  });

  const grant = (label: string): Canary => {
    const canary = makeCanary(label, USER);
    started.push(canary);
    idp.grant(canary.secret, USER);
    return canary;
  };
  const side = (protocol: 'imap' | 'smtp', refreshToken: Canary | '****'): Body => ({
    server: '127.0.0.1',
    port: protocol === 'imap' ? dovecot.imapsPort : smtp.port,
    security: protocol === 'imap' ? 'tls' : 'starttls',
    authType: 'oauth2',
    username: USER,
    caPem: protocol === 'imap' ? dovecot.caPem : smtp.caPem,
    oauth: {
      tokenUrl: `${idp.url}/token`,
      clientId: CLIENT_ID,
      clientSecret: refreshToken === '****' ? '****' : clientSecret.secret,
      refreshToken: refreshToken === '****' ? '****' : refreshToken.secret,
      scope: SCOPE,
    },
  });

  it('create via /api/v1, test: tokens fetched at the endpoint, both logins pass, rotated tokens stored', async () => {
    const created = await api.request('POST', '/api/v1/accounts', {
      body: {
        emailAddress: 'dora@example.test',
        incoming: side('imap', grant('imap-rt')),
        outgoing: side('smtp', grant('smtp-rt')),
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as number;

    const res = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(res.status, res.text).toBe(200);
    expect(
      res.json.sides.map((s: { side: string; ok: boolean; code: string | null }) => [s.side, s.ok, s.code]),
    ).toEqual([
      ['imap', true, null],
      ['smtp', true, null],
    ]);
    expect(res.json).toMatchObject({ ok: true, account: { status: 'Ok' } });
    expect(idp.tokenRequests).toHaveLength(2);
    expect(idp.tokenRequests.every((r) => r.clientOk && r.status === 200 && r.scope === SCOPE)).toBe(true);
    // The new access token's expiry is shown; the tokens are not.
    expect(Date.parse(res.json.account.incoming.oauth.accessExpiresAt)).toBeGreaterThan(Date.now());
    expect(res.json.account.incoming.oauth).toMatchObject({ refreshToken: '****', clientSecret: '****' });

    const account = (await api.core.repo.getAccountWithSecrets(id))!;
    expect(account.accountStatus).toBe(AccountStatus.Ok);
    for (const auth of [account.incoming!, account.outgoing!]) {
      expect(idp.activeUser(auth.password)).toBe(USER);
      expect(idp.refreshTokenValid(auth.oauth!.refreshToken)).toBe(true); // the rotated one
      expect(started.map((c) => c.secret)).not.toContain(auth.oauth!.refreshToken);
    }
  });

  it('update via /api/v1 with a new refresh token (mask for the client secret): the next test uses the new grant', async () => {
    const created = await api.request('POST', '/api/v1/accounts', {
      body: {
        emailAddress: 'dora2@example.test',
        incoming: side('imap', grant('imap-old-rt')),
        outgoing: null,
      },
    });
    const id = created.json.id as number;
    const first = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(first.json.ok, first.text).toBe(true);
    const oldRefresh = (await api.core.repo.getAccountWithSecrets(id))!.incoming!.oauth!.refreshToken;
    idp.revoke(oldRefresh); // the user re-authorised: only the new grant works now

    const fresh = grant('imap-new-rt');
    const updated = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: {
        emailAddress: 'dora2@example.test',
        incoming: {
          ...side('imap', fresh),
          oauth: { ...(side('imap', fresh).oauth as Body), clientSecret: '****' },
        },
      },
    });
    expect(updated.status, updated.text).toBe(200);
    const before = idp.tokenRequests.length;
    const res = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(res.json.ok, res.text).toBe(true);
    expect(idp.tokenRequests.slice(before)).toEqual([{ clientOk: true, scope: SCOPE, status: 200 }]);
    expect(idp.refreshTokenValid(fresh.secret)).toBe(false); // used and rotated

    // Sent back with masks only, the stored (rotated) secrets stay and keep working.
    const kept = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: { emailAddress: 'dora2@example.test', incoming: side('imap', '****') },
    });
    expect(kept.status, kept.text).toBe(200);
    const again = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(again.json.ok, again.text).toBe(true);
  });
});
