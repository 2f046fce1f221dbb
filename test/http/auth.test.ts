// Authentication: token digests, header parsing, the SOAP ticket, which routes are open, and the
// refusal to serve an unauthenticated API to the network (library and CLI).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { startDaemon } from '../../src/daemon.js';
import {
  UnsafeListenError,
  assertSafeListen,
  createTokenVerifier,
  hashToken,
  isLoopbackHost,
  soapTicket,
  tokenFromHeader,
} from '../../src/http/auth.js';
import { createLogger } from '../../src/logging/logger.js';
import { runCli } from '../helpers/cli.js';
import { TOKEN, startApi, type ApiServer } from './helpers.js';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('token helpers', () => {
  it('hashToken is the lower-case hex SHA-256 (a known vector)', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('the verifier accepts exactly the configured tokens', () => {
    const verify = createTokenVerifier([hashToken('first-token-123456'), hashToken('second-token-12345')]);
    expect(verify('first-token-123456')).toBe(true);
    expect(verify('second-token-12345')).toBe(true);
    expect(verify('first-token-12345')).toBe(false);
    expect(verify('')).toBe(false);
    expect(createTokenVerifier([])('anything')).toBe(false);
  });

  it('reads Bearer and Basic (token as password, any user), nothing else', () => {
    expect(tokenFromHeader('Bearer abc.def')).toBe('abc.def');
    expect(tokenFromHeader('bearer   abc')).toBe('abc');
    expect(tokenFromHeader(basic('tje0', 'Tje0'))).toBe('Tje0');
    expect(tokenFromHeader(basic('', 'tok:with:colons'))).toBe('tok:with:colons');
    expect(tokenFromHeader(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeNull();
    expect(tokenFromHeader('Token abc')).toBeNull();
    expect(tokenFromHeader('Bearer')).toBeNull();
    expect(tokenFromHeader('Bearer a b')).toBeNull();
    expect(tokenFromHeader(undefined)).toBeNull();
  });

  it('finds the SOAP Credentials/Ticket in Header or directly in Envelope, never throws', () => {
    const env = (inner: string) =>
      `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:s="urn:x">${inner}<e:Body/></e:Envelope>`;
    expect(soapTicket(env('<s:Credentials><s:Ticket> 7T:abc== </s:Ticket></s:Credentials>'))).toBe(
      '7T:abc==',
    );
    expect(
      soapTicket(env('<e:Header><s:Credentials><s:Ticket>t2</s:Ticket></s:Credentials></e:Header>')),
    ).toBe('t2');
    expect(soapTicket(env('<s:Credentials><s:Ticket></s:Ticket></s:Credentials>'))).toBeNull();
    expect(soapTicket(env(''))).toBeNull();
    expect(soapTicket('<not xml')).toBeNull();
    expect(soapTicket(undefined)).toBeNull();
  });

  it('knows loopback in every family and spelling', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
      'localhost',
      'LOCALHOST',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', 'localhost.example.com']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('assertSafeListen refuses a non-loopback host without tokens, naming both keys', () => {
    expect(() => assertSafeListen({ host: '0.0.0.0', tokenHashes: [] })).toThrow(UnsafeListenError);
    expect(() => assertSafeListen({ host: '0.0.0.0', tokenHashes: [] })).toThrow(
      /http\.host 0\.0\.0\.0.*http\.tokenHashes/,
    );
    expect(() => assertSafeListen({ host: '0.0.0.0', tokenHashes: [hashToken('x')] })).not.toThrow();
    expect(() => assertSafeListen({ host: '127.0.0.1', tokenHashes: [] })).not.toThrow();
  });
});

describe('authentication over HTTP', () => {
  let api: ApiServer;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  const ROUTES: [string, string][] = [
    ['GET', '/api/v1/accounts'],
    ['POST', '/api/v1/accounts'],
    ['GET', '/api/v1/accounts/1'],
    ['PUT', '/api/v1/accounts/1'],
    ['DELETE', '/api/v1/accounts/1'],
    ['GET', '/api/v1/accounts/1/history'],
    ['POST', '/api/v1/accounts/1/test'],
    ['POST', '/api/v1/test'],
    ['GET', '/api/v1/openapi.json'],
    ['POST', '/api/v1/Agents/CustomerService/TestSmtpServer'],
    ['POST', '/api/v1/Agents/EMail/SaveEMailAccount'],
    ['POST', '/ccadmin/v1/email/test'],
    ['POST', '/dealers/abc/email-credentials/test'],
    ['POST', '/Remote/Services88/CustomerService.svc'],
    ['POST', '/Remote/Services87/EMail.svc'],
    ['GET', '/no/such/route'],
  ];

  it.each(ROUTES)(
    '%s %s: 401 without a token, with a wrong one, or with an unknown scheme',
    async (method, path) => {
      const body = method === 'POST' || method === 'PUT' ? { body: {} } : {};
      const variants: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token' },
        { authorization: basic('u', 'wrong') },
        { authorization: `Token ${TOKEN}` },
      ];
      for (const headers of variants) {
        const res = await api.request(method, path, { ...body, token: null, headers });
        expect(res.status, JSON.stringify(headers)).toBe(401);
        expect(res.text).toMatch(/authentication required/);
      }
    },
  );

  it('the 401 of the native API is JSON with a WWW-Authenticate challenge', async () => {
    const res = await api.request('GET', '/api/v1/accounts', { token: null });
    expect(res.json).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer realm="mailmon", Basic/);
  });

  it('accepts the token as Bearer and as the Basic password', async () => {
    expect((await api.request('GET', '/api/v1/accounts')).status).toBe(200);
    const viaBasic = await api.request('GET', '/api/v1/accounts', {
      token: null,
      headers: { authorization: basic('ops', TOKEN) },
    });
    expect(viaBasic.status).toBe(200);
    expect((await api.request('GET', '/no/such/route')).status).toBe(404);
  });

  it('/healthz and /metrics are open by default', async () => {
    expect((await api.request('GET', '/healthz', { token: null })).status).toBe(200);
    expect((await api.request('GET', '/metrics', { token: null })).status).toBe(200);
  });
});

describe('closing /healthz and /metrics by config; no token on loopback', () => {
  it('publicHealth and publicMetrics false put them behind the token', async () => {
    const api = await startApi({ overrides: { 'http.publicHealth': false, 'http.publicMetrics': false } });
    try {
      for (const path of ['/healthz', '/metrics']) {
        expect((await api.request('GET', path, { token: null })).status, path).toBe(401);
        expect((await api.request('GET', path)).status, path).toBe(200);
      }
    } finally {
      await api.close();
    }
  });

  it('with no token configured, the API on loopback needs none', async () => {
    const api = await startApi({ tokens: [] });
    try {
      expect((await api.request('GET', '/api/v1/accounts', { token: null })).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('startDaemon refuses a non-loopback host without tokens before listening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailmon-auth-'));
    const config = loadConfig({
      env: { MAILMON_CONFIG: '/dev/null', MAILMON_SECRET_KEY: generateKeyLine('t1') },
      overrides: {
        'database.url': `sqlite:${join(dir, 'db.sqlite')}`,
        'http.host': '0.0.0.0',
        'http.port': 0,
      },
    });
    const core = await createCore({ config, logger: createLogger({ level: 'silent', pretty: false }) });
    try {
      await expect(startDaemon(core)).rejects.toThrow(
        /refusing to listen on http\.host 0\.0\.0\.0.*http\.tokenHashes/,
      );
    } finally {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CLI', () => {
  it('`mailmon tokens hash` prints the digest of the token on stdin', async () => {
    const token = 'cli-token-0123456789abcdef';
    const run = await runCli(['tokens', 'hash'], {}, `${token}\n`);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${hashToken(token)}\n`);
    const short = await runCli(['tokens', 'hash'], {}, 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 16 characters/);
  });

  it('`mailmon serve` on 0.0.0.0 without tokens exits 2 before opening the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailmon-serve-'));
    try {
      const run = await runCli(['serve'], {
        MAILMON_CONFIG: '/dev/null',
        MAILMON_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
        MAILMON_SECRET_KEY: generateKeyLine('t1'),
        MAILMON_HTTP_HOST: '0.0.0.0',
        MAILMON_HTTP_PORT: '0',
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/http\.host 0\.0\.0\.0.*http\.tokenHashes/);
      expect(existsSync(join(dir, 'db.sqlite'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
