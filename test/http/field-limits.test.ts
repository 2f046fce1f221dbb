// Every length limit fits its column on MariaDB in strict mode: the longest value each field accepts
// is stored (and reads back intact), one character more is a 400 naming the field that does not
// echo the value. SQLite does not enforce lengths, so this runs on MariaDB, through the real daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../peers/mariadb.js';
import { describeWithPeer } from '../peers/require.js';
import { TOKEN, expectNoSecrets, startApi, type ApiServer } from './helpers.js';

/** SuperOffice's REST sample authenticates as Basic tje0:Tje0. */
const REST_HEADERS = { Authorization: 'Basic dGplMDpUamUw', Accept: 'application/json' };
const SAVE_PATH = '/api/v1/Agents/EMail/SaveEMailAccount';

/** A 3-byte UTF-8 character: the worst case per UTF-16 unit for a secret's ciphertext. */
const WIDE = '€';
const wide = (length: number, marker: string): string => marker + WIDE.repeat(length - marker.length);

/** `<local>@example.test`, `length` characters in all, multi-byte local part. */
const address = (length: number): string => wide(length - '@example.test'.length, 'a') + '@example.test';
/** A valid 253-character host name (labels of at most 63). */
const LONG_HOST = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
/** An https token URL of `length` characters. */
const tokenUrl = (length: number): string => {
  const base = 'https://login.example.test/token?x=';
  return base + 'q'.repeat(length - base.length);
};

const LIMITS = { name: 255, clientId: 512, tokenUrl: 2048, scope: 2048, secret: 8192 };

interface Longest {
  emailAddress: string;
  username: string;
  password: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  scope: string;
  tokenUrl: string;
}

const longest = (tag: string): Longest => ({
  emailAddress: address(LIMITS.name),
  username: wide(LIMITS.name, `u${tag}`),
  password: wide(LIMITS.secret, `pw-canary-${tag}-`),
  clientId: wide(LIMITS.clientId, `id${tag}`),
  clientSecret: wide(LIMITS.secret, `cs-canary-${tag}-`),
  refreshToken: wide(LIMITS.secret, `rt-canary-${tag}-`),
  scope: wide(LIMITS.scope, `s${tag}`),
  tokenUrl: tokenUrl(LIMITS.tokenUrl),
});

describeWithPeer('mariadb', 'field length limits on MariaDB', () => {
  let database: TestDatabase;
  let api: ApiServer;
  const secrets: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApi({ tokens: [TOKEN, 'Tje0'], overrides: { 'database.url': database.url } });
  });
  afterAll(async () => {
    // No secret (nor any part of knex's SQL with them) in a response or a log line.
    expectNoSecrets(api?.bodies ?? [], secrets);
    expectNoSecrets([api?.logs.text ?? ''], secrets);
    expect(api?.logs.text ?? '').not.toMatch(/insert into|update `?service_auth/i);
    await api?.close();
    await database?.drop();
  });

  const track = (values: Longest): Longest => {
    secrets.push(values.password, values.clientSecret, values.refreshToken);
    return values;
  };

  async function expectStored(id: number, v: Longest): Promise<void> {
    const stored = await api.core.repo.getAccountWithSecrets(id);
    expect(stored?.emailAddress).toBe(v.emailAddress);
    expect(stored?.incoming).toMatchObject({ server: LONG_HOST, username: v.username, password: v.password });
    expect(stored?.incoming?.oauth).toMatchObject({
      tokenUrl: v.tokenUrl,
      clientId: v.clientId,
      clientSecret: v.clientSecret,
      refreshToken: v.refreshToken,
      scope: v.scope,
    });
    expect(stored?.outgoing).toMatchObject({ username: v.username, password: v.password });
  }

  describe('native API', () => {
    const body = (v: Longest) => ({
      emailAddress: v.emailAddress,
      incoming: {
        server: LONG_HOST,
        port: 993,
        authType: 'oauth2',
        username: v.username,
        password: v.password,
        oauth: {
          tokenUrl: v.tokenUrl,
          clientId: v.clientId,
          clientSecret: v.clientSecret,
          refreshToken: v.refreshToken,
          scope: v.scope,
        },
      },
      outgoing: { server: LONG_HOST, port: 587, username: v.username, password: v.password },
    });

    it('stores the longest value of every field', async () => {
      const v = track(longest('n'));
      const res = await api.request('POST', '/api/v1/accounts', { body: body(v) });
      expect(res.status, res.text.slice(0, 500)).toBe(201);
      await expectStored(res.json.id as number, v);
    });

    const tooLong: [string, (v: Longest) => Partial<Longest>, string][] = [
      ['emailAddress', (v) => ({ emailAddress: 'a' + v.emailAddress }), 'emailAddress'],
      ['username', (v) => ({ username: v.username + 'x' }), 'incoming.username'],
      ['password', (v) => ({ password: v.password + 'x' }), 'incoming.password'],
      ['clientId', (v) => ({ clientId: v.clientId + 'x' }), 'incoming.oauth.clientId'],
      ['clientSecret', (v) => ({ clientSecret: v.clientSecret + 'x' }), 'incoming.oauth.clientSecret'],
      ['refreshToken', (v) => ({ refreshToken: v.refreshToken + 'x' }), 'incoming.oauth.refreshToken'],
      ['scope', (v) => ({ scope: v.scope + 'x' }), 'incoming.oauth.scope'],
      ['tokenUrl', (v) => ({ tokenUrl: v.tokenUrl + 'x' }), 'incoming.oauth.tokenUrl'],
    ];
    it.each(tooLong)('one character more in %s is a 400 naming the field', async (_name, change, field) => {
      const v = track({ ...longest('n'), ...change(longest('n')) });
      const before = (await api.core.repo.listAccounts()).total;
      const res = await api.request('POST', '/api/v1/accounts', { body: body(v) });
      expect(res.status, res.text.slice(0, 500)).toBe(400);
      // username and password are shared by both sides here; the incoming one is named either way.
      expect(res.json.issues.map((i: { path: string }) => i.path)).toContain(field);
      expect(res.json.message).toMatch(/must be at most \d+ characters/);
      expect(res.text.length).toBeLessThan(1000); // the value is not echoed
      expect((await api.core.repo.listAccounts()).total).toBe(before);
    });

    it('an internationalised server name longer than 253 characters as punycode is a 400', async () => {
      const idn = Array.from({ length: 8 }, () => 'ä'.repeat(30)).join('.'); // 247 characters, longer as punycode
      const v = longest('n');
      const res = await api.request('POST', '/api/v1/accounts', {
        body: { ...body(v), incoming: null, outgoing: { ...body(v).outgoing, server: idn } },
      });
      expect(res.status, res.text.slice(0, 500)).toBe(400);
      expect(res.json.issues).toEqual([
        { path: 'outgoing.server', message: expect.stringMatching(/at most 253 characters/) },
      ]);
    });
  });

  describe('SuperOffice REST SaveEMailAccount', () => {
    const carrier = (v: Longest) => ({
      EMailAccountId: 0,
      EMailAddress: v.emailAddress,
      IncomingCredentials: {
        Server: LONG_HOST,
        Port: 993,
        AuthType: 'OAuth',
        Username: v.username,
        Password: v.password,
        OAuth: {
          TokenUrl: v.tokenUrl,
          ClientId: v.clientId,
          ClientSecret: v.clientSecret,
          RefreshToken: v.refreshToken,
          Scope: v.scope,
        },
      },
      OutgoingCredentials: {
        Server: LONG_HOST,
        Port: 587,
        AuthType: 'plain-text',
        Username: v.username,
        Password: v.password,
      },
    });
    const save = (body: unknown) =>
      api.request('POST', SAVE_PATH, { body, token: null, headers: REST_HEADERS });

    it('stores the longest value of every field', async () => {
      const v = track(longest('s'));
      const res = await save(carrier(v));
      expect(res.status, res.text.slice(0, 500)).toBe(200);
      await expectStored(res.json.EMailAccountId as number, v);
    });

    const tooLong: [string, (v: Longest) => Partial<Longest>, string][] = [
      ['EMailAddress', (v) => ({ emailAddress: 'a' + v.emailAddress }), 'EMailAddress'],
      ['Username', (v) => ({ username: v.username + 'x' }), 'IncomingCredentials.Username'],
      ['Password', (v) => ({ password: v.password + 'x' }), 'IncomingCredentials.Password'],
      ['ClientId', (v) => ({ clientId: v.clientId + 'x' }), 'IncomingCredentials.OAuth.ClientId'],
      [
        'ClientSecret',
        (v) => ({ clientSecret: v.clientSecret + 'x' }),
        'IncomingCredentials.OAuth.ClientSecret',
      ],
      [
        'RefreshToken',
        (v) => ({ refreshToken: v.refreshToken + 'x' }),
        'IncomingCredentials.OAuth.RefreshToken',
      ],
      ['Scope', (v) => ({ scope: v.scope + 'x' }), 'IncomingCredentials.OAuth.Scope'],
      ['TokenUrl', (v) => ({ tokenUrl: v.tokenUrl + 'x' }), 'IncomingCredentials.OAuth.TokenUrl'],
    ];
    it.each(tooLong)('one character more in %s is a 400 naming the field', async (_name, change, field) => {
      const v = track({ ...longest('s'), ...change(longest('s')) });
      const before = (await api.core.repo.listAccounts()).total;
      const res = await save(carrier(v));
      expect(res.status, res.text.slice(0, 500)).toBe(400);
      const fields = (res.json.Errors as { Field: string }[]).map((e) => e.Field);
      // Username and Password are shared by both sides here; the incoming one is named either way.
      expect(fields).toContain(field);
      expect(res.text.length).toBeLessThan(1000); // the value is not echoed
      expect((await api.core.repo.listAccounts()).total).toBe(before);
    });
  });
});
