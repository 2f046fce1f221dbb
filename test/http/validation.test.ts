// Bad input over real HTTP: every failure is a 4xx whose message names the field, never a 500 or a
// stack trace; oversized bodies 413; unknown routes 404 JSON; the test endpoints rate-limited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiServer } from './helpers.js';

const okSide = { server: 'imap.example.test', port: 993, username: 'u', password: 'Valid-Canary-pw-11' };
const account = (incoming: Record<string, unknown>) => ({ emailAddress: 'v@example.test', incoming });

describe('validation and error responses', () => {
  let api: ApiServer;

  beforeAll(async () => {
    api = await startApi({ overrides: { 'http.bodyLimitBytes': 4096 } });
  });
  afterAll(async () => {
    // No response anywhere looked like a stack trace or an internal error.
    expect(api.bodies.filter((b) => /\bat .+\(.+:\d+:\d+\)|"statusCode":5\d\d/.test(b))).toEqual([]);
    expect(api.bodies.join('\n')).not.toContain('Valid-Canary-pw-11');
    await api?.close();
  });

  const cases: [string, string, string, unknown, string][] = [
    ['missing field', 'POST', '/api/v1/accounts', { incoming: okSide }, 'emailAddress'],
    ['wrong type', 'POST', '/api/v1/accounts', account({ ...okSide, port: '993' }), 'incoming.port'],
    ['port 0', 'POST', '/api/v1/accounts', account({ ...okSide, port: 0 }), 'incoming.port'],
    ['port 65536', 'POST', '/api/v1/test', { incoming: { ...okSide, port: 65536 } }, 'incoming.port'],
    [
      'CR/LF in host',
      'POST',
      '/api/v1/accounts',
      account({ ...okSide, server: 'imap.example.test\r\nRCPT TO:<x>' }),
      'incoming.server',
    ],
    [
      'LF in host (ad hoc)',
      'POST',
      '/api/v1/test',
      { outgoing: { ...okSide, server: 'smtp\n.example.test' } },
      'outgoing.server',
    ],
    ['space in host', 'PUT', '/api/v1/accounts/1', account({ ...okSide, server: 'a b' }), 'incoming.server'],
    [
      'CR in user name',
      'POST',
      '/api/v1/test',
      { incoming: { ...okSide, username: 'u\r\nA1 LOGOUT' } },
      'incoming.username',
    ],
    [
      'LF in password',
      'POST',
      '/api/v1/test',
      { incoming: { ...okSide, password: 'p\nw' } },
      'incoming.password',
    ],
    [
      'bad security',
      'POST',
      '/api/v1/accounts',
      account({ ...okSide, security: 'ssl' }),
      'incoming.security',
    ],
    ['unknown key', 'POST', '/api/v1/accounts', account({ ...okSide, pasword: 'x' }), 'incoming'],
    ['no side', 'POST', '/api/v1/accounts', { emailAddress: 'v@example.test' }, 'incoming'],
    ['no side (ad hoc)', 'POST', '/api/v1/test', {}, 'incoming'],
    [
      'ad hoc without password',
      'POST',
      '/api/v1/test',
      { incoming: { ...okSide, password: undefined } },
      'incoming.password',
    ],
    [
      'bad address',
      'POST',
      '/api/v1/accounts',
      { ...account(okSide), emailAddress: 'nobody' },
      'emailAddress',
    ],
    ['body not an object', 'POST', '/api/v1/accounts', [1, 2], '(body)'],
    ['no body', 'POST', '/api/v1/test', undefined, '(body)'],
    ['bad id', 'GET', '/api/v1/accounts/0', undefined, 'params.id'],
    ['id not a number', 'POST', '/api/v1/accounts/abc/test', undefined, 'params.id'],
    ['id too large', 'DELETE', '/api/v1/accounts/99999999999', undefined, 'params.id'],
    ['bad status filter', 'GET', '/api/v1/accounts?status=Broken', undefined, 'query.status'],
    ['limit out of range', 'GET', '/api/v1/accounts?limit=5000', undefined, 'query.limit'],
    ['negative offset', 'GET', '/api/v1/accounts?offset=-1', undefined, 'query.offset'],
    ['history limit', 'GET', '/api/v1/accounts/1/history?limit=x', undefined, 'query.limit'],
  ];

  it.each(cases)('%s → 400 naming the field', async (_name, method, path, body, field) => {
    const res = await api.request(method, path, body === undefined ? {} : { body });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(res.json.issues.map((i: { path: string }) => i.path)).toContain(field);
    expect(res.json.message).toContain(`${field}: `);
  });

  it('refuses invalid JSON without quoting the body', async () => {
    const res = await api.request('POST', '/api/v1/accounts', { raw: '{"password":"Valid-Canary-pw-11",' });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/not valid JSON/i);
    expect(res.text).not.toContain('Valid-Canary');
  });

  it('refuses an oversized body with 413 and a message naming the limit', async () => {
    const res = await api.request('POST', '/api/v1/accounts', {
      body: { ...account(okSide), emailAddress: `${'x'.repeat(5000)}@example.test` },
    });
    expect(res.status).toBe(413);
    expect(res.json).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'request body is larger than 4096 bytes (http.bodyLimitBytes)',
    });
  });

  it('answers unknown routes and methods with a 404 JSON body', async () => {
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['PATCH', '/api/v1/accounts/1'],
      ['GET', '/api/v1/test'],
    ] as const) {
      const res = await api.request(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.json).toMatchObject({
        statusCode: 404,
        error: 'Not Found',
        message: expect.stringContaining(path),
      });
    }
  });

  it('an unsupported content type is a 415, not a 500', async () => {
    const res = await api.request('POST', '/api/v1/accounts', {
      raw: '<a/>',
      contentType: 'application/xml',
    });
    expect(res.status).toBe(415);
    expect(res.json.statusCode).toBe(415);
  });
});

describe('rate limit on the test endpoints', () => {
  let api: ApiServer;

  beforeAll(async () => {
    api = await startApi({ overrides: { 'http.testRateLimitPerMinute': 3 } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('allows http.testRateLimitPerMinute test requests per client in all, then 429 on every test endpoint', async () => {
    // Invalid requests are refused before the limiter and do not use up the budget.
    for (let i = 0; i < 5; i++)
      expect((await api.request('POST', '/api/v1/test', { body: {} })).status).toBe(400);
    // Unknown accounts: no mail server involved, but each request counts.
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await api.request('POST', '/api/v1/accounts/424242/test')).status);
    expect(statuses).toEqual([404, 404, 404]);

    const limited = await api.request('POST', '/api/v1/accounts/424242/test');
    expect(limited.status).toBe(429);
    expect(limited.json.message).toMatch(/at most 3 per minute.*http\.testRateLimitPerMinute/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const adHoc = await api.request('POST', '/api/v1/test', {
      body: { incoming: { ...okSide, server: '127.0.0.1' } },
    });
    expect(adHoc.status).toBe(429);
    // The compatible test endpoints share the budget and answer in their vendor's shape.
    const oracle = await api.request('POST', '/ccadmin/v1/email/test', {
      body: {
        emailSMTPHost: '127.0.0.1',
        emailSMTPPort: '25',
        emailSMTPAuthMethod: 'TLS',
        emailSMTPUsername: 'u',
        emailSMTPPassword: 'p',
      },
    });
    expect(oracle.status).toBe(429);
    expect(oracle.json).toMatchObject({ status: '429' });
    // Other routes are not limited.
    expect((await api.request('GET', '/api/v1/accounts')).status).toBe(200);
    // X-Forwarded-For from a peer that is not a trusted proxy is ignored: no fresh budget.
    const spoofed = await api.request('POST', '/api/v1/accounts/424242/test', {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(spoofed.status).toBe(429);
  });
});

describe('rate limit behind a trusted reverse proxy', () => {
  let api: ApiServer;

  beforeAll(async () => {
    // The test client connects from 127.0.0.1: it plays the proxy.
    api = await startApi({
      overrides: { 'http.testRateLimitPerMinute': 2, 'http.trustedProxies': ['127.0.0.0/8'] },
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  const testAs = async (client: string) =>
    (await api.request('POST', '/api/v1/accounts/424242/test', { headers: { 'x-forwarded-for': client } }))
      .status;

  it('gives each client named in X-Forwarded-For its own budget', async () => {
    expect([await testAs('203.0.113.5'), await testAs('203.0.113.5')]).toEqual([404, 404]);
    expect(await testAs('203.0.113.5')).toBe(429);
    // Another client behind the same proxy is not affected; the proxy's own address neither.
    expect(await testAs('203.0.113.6')).toBe(404);
    expect((await api.request('POST', '/api/v1/accounts/424242/test')).status).toBe(404);
  });
});
