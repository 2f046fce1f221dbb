// The console's security over real HTTP (no browser needed for these): what answers without a
// session, the login and its cookie, CSRF refusals, the headers, the loopback-only mode without
// tokens, and the pages' escaping and filters.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSecrets, side, startApi, TOKEN, type ApiServer } from './helpers.js';

const PASSWORD = 'Console-Http-Canary-77aa';

interface Sent {
  status: number;
  headers: Headers;
  text: string;
}

async function send(url: string, init: RequestInit & { cookie?: string } = {}): Promise<Sent> {
  const { cookie, ...rest } = init;
  const response = await fetch(url, {
    redirect: 'manual',
    ...rest,
    headers: { ...(cookie ? { cookie } : {}), ...(rest.headers as Record<string, string>) },
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe('the console with tokens configured', () => {
  let api: ApiServer;
  let id: number;
  let deletedId: number;
  const bodies: string[] = [];

  beforeAll(async () => {
    api = await startApi();
    const create = async (emailAddress: string, username = 'alice') => {
      const res = await api.request('POST', '/api/v1/accounts', {
        body: { emailAddress, incoming: side({ port: 9 }, PASSWORD, { security: 'none', username }) },
      });
      expect(res.status, res.text).toBe(201);
      return res.json.id as number;
    };
    id = await create('xss@example.test', '<img src=x onerror=alert(1)>');
    deletedId = await create('deleted@example.test');
    await api.request('DELETE', `/api/v1/accounts/${deletedId}`);
  });
  afterAll(async () => {
    expectNoSecrets([...bodies, ...(api?.bodies ?? []), api?.logs.text ?? ''], [PASSWORD, TOKEN]);
    await api?.close();
  });

  const get = async (path: string, init: Parameters<typeof send>[1] = {}) => {
    const sent = await send(api.url + path, init);
    bodies.push(sent.text);
    return sent;
  };

  const login = async (): Promise<string> => {
    const res = await get('/ui/login', form({ token: TOKEN, next: '/ui/' }));
    expect(res.status).toBe(303);
    return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  };

  it('answers every console route without a session with 401 (the login form for pages)', async () => {
    for (const path of [
      '/ui/',
      '/ui',
      `/ui/accounts/${id}`,
      '/ui/accounts/999',
      '/ui/?status=Failed',
      '/ui/nope',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(res.text, path).not.toContain('example.test');
    }
    expect((await get('/ui/')).text).toContain('name="token"');
    for (const path of [`/ui/accounts/${id}/test`, '/ui/logout']) {
      expect((await get(path, form({ _csrf: 'x' }))).status, path).toBe(401);
    }
    // The API token as a bearer header is not a console session.
    expect((await get('/ui/', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
    // The stylesheet and script are public and hold no data.
    const script = await get('/ui/assets/console.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await get('/ui/assets/other.js')).status).toBe(404);
  });

  it('logs in with a token into an HttpOnly, SameSite=Strict, expiring cookie; a wrong token is refused', async () => {
    const wrong = await get('/ui/login', form({ token: 'nope', next: '/ui/' }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const res = await get('/ui/login', form({ token: TOKEN, next: `/ui/accounts/${id}` }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/ui/accounts/${id}`);
    expect(res.headers.get('set-cookie')).toMatch(
      /^mailmon_console=[A-Za-z0-9_-]{43}; Path=\/ui; Max-Age=43200; HttpOnly; SameSite=Strict$/,
    );
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    expect((await get('/ui/', { cookie })).status).toBe(200);
    // A forged or unknown session id is no session.
    expect((await get('/ui/', { cookie: 'mailmon_console=forged' })).status).toBe(401);
  });

  it('never redirects off the console after login', async () => {
    for (const next of [
      '//evil.example/',
      'https://evil.example/',
      '/ui/../api/v1/accounts',
      'javascript:alert(1)',
    ]) {
      const res = await get('/ui/login', form({ token: TOKEN, next }));
      expect(res.headers.get('location'), next).toBe('/ui/');
    }
  });

  it('sends a strict Content-Security-Policy and no-store on every page', async () => {
    const cookie = await login();
    for (const path of ['/ui/', `/ui/accounts/${id}`, '/ui/login']) {
      const res = await get(path, { cookie });
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain('unsafe');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
      // No inline script or style: every <script> has a src, no on* attributes, no style attributes.
      expect(res.text).not.toMatch(/<script(?![^>]*\ssrc=)/);
      expect(res.text).not.toMatch(/<[^>]*\son[a-z]+=/i);
      expect(res.text).not.toMatch(/<[^>]*\sstyle=/i);
    }
  });

  it('escapes account fields and shows passwords as the mask only', async () => {
    const cookie = await login();
    const page = await get(`/ui/accounts/${id}`, { cookie });
    expect(page.text).toMatch(/<dt>User name<\/dt>\s*<dd>&lt;img src=x onerror=alert\(1\)&gt;<\/dd>/);
    expect(page.text).toMatch(/<dt>Password<\/dt>\s*<dd>\*\*\*\*<\/dd>/);
    expect(page.text).not.toContain('<img');
  });

  it('says when an account backs off after refused logins, and — otherwise', async () => {
    const cookie = await login();
    expect((await get(`/ui/accounts/${id}`, { cookie })).text).toMatch(
      /<dt>Backing off<\/dt>\s*<dd><span class="none">—<\/span><\/dd>/,
    );
    // The stored backoff state, as checks write it (test/integration/lockout.test.ts makes it for real).
    await api.core.db
      .knex('email_account')
      .where('email_account_id', id)
      .update({ auth_failures: 3, auth_backoff_code: 'account_locked' });
    const page = await get(`/ui/accounts/${id}`, { cookie });
    expect(page.text).toMatch(/<dt>Backing off<\/dt>\s*<dd>3 refused login\(s\) in a row \(account_locked\)/);
    await api.core.db
      .knex('email_account')
      .where('email_account_id', id)
      .update({ auth_failures: 0, auth_backoff_code: null });
  });

  it('hides Deleted accounts unless asked for', async () => {
    const cookie = await login();
    expect((await get('/ui/', { cookie })).text).not.toContain('deleted@example.test');
    expect((await get('/ui/?status=all', { cookie })).text).toContain('deleted@example.test');
    expect((await get('/ui/?status=Deleted', { cookie })).text).toContain('deleted@example.test');
    const bad = await get('/ui/?status=Broken', { cookie });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('must be a status name');
    const retest = await get(`/ui/accounts/${deletedId}`, { cookie });
    expect(retest.text).not.toContain('Re-test now');
  });

  it('refuses state-changing requests without the session CSRF token or from another origin', async () => {
    const cookie = await login();
    const csrf = csrfOf((await get(`/ui/accounts/${id}`, { cookie })).text);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const path = `/ui/accounts/${id}/test`;
    const history = async () =>
      ((await api.request('GET', `/api/v1/accounts/${id}/history`)).json.items as unknown[]).length;
    const before = await history();
    const refused = [
      { ...form({}), cookie },
      { ...form({ _csrf: 'wrong' }), cookie },
      { ...form({ _csrf: csrf.slice(0, -1) }), cookie },
      { ...form({ _csrf: csrf }), cookie, headers: { ...form({}).headers, origin: 'http://evil.example' } },
      { ...form({ _csrf: csrf }), cookie, headers: { ...form({}).headers, 'sec-fetch-site': 'same-site' } },
      { ...form({ _csrf: csrf }), cookie, headers: { ...form({}).headers, origin: 'null' } },
    ];
    for (const init of refused) {
      const res = await get(path, init);
      expect(res.status, JSON.stringify(init.headers)).toBe(403);
    }
    expect(await history()).toBe(before);
    // The token of another session is not this session's.
    const other = csrfOf((await get(`/ui/accounts/${id}`, { cookie: await login() })).text);
    expect((await get(path, { ...form({ _csrf: other }), cookie })).status).toBe(403);
    // With the right token, from the console itself: tested and back to the account page.
    const ok = await get(path, {
      ...form({ _csrf: csrf }),
      cookie,
      headers: { ...form({}).headers, origin: api.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`/ui/accounts/${id}`);
    expect(await history()).toBe(before + 1);
    // The header form (what the script sends) works as well.
    const viaHeader = await get(path, {
      ...form({}),
      cookie,
      headers: { ...form({}).headers, 'x-csrf-token': csrf },
    });
    expect(viaHeader.status).toBe(303);
    // A login from another site is refused too (login CSRF).
    const crossLogin = await get('/ui/login', {
      ...form({ token: TOKEN }),
      headers: { ...form({}).headers, origin: 'http://evil.example' },
    });
    expect(crossLogin.status).toBe(403);
  });

  it('log out ends the session', async () => {
    const cookie = await login();
    const csrf = csrfOf((await get('/ui/', { cookie })).text);
    const out = await get('/ui/logout', { ...form({ _csrf: csrf }), cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^mailmon_console=; Path=\/ui; Max-Age=0/);
    expect((await get('/ui/', { cookie })).status).toBe(401);
  });
});

describe('the console without tokens (loopback only)', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApi({ tokens: [] });
  });
  afterAll(async () => api?.close());

  it('needs no login on a loopback host name, but still a CSRF token', async () => {
    const res = await send(`${api.url}/ui/`);
    expect(res.status).toBe(200);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(cookie).toMatch(/^mailmon_console=/);
    expect(res.text).not.toContain('Log out');
    const post = await send(`${api.url}/ui/accounts/1/test`, { ...form({}), cookie });
    expect(post.status).toBe(403);
    // No session at all: refused before anything runs.
    expect((await send(`${api.url}/ui/accounts/1/test`, form({ _csrf: 'x' }))).status).toBe(401);
  });

  it('refuses a Host that is not loopback (a DNS-rebinding page must not read it)', async () => {
    const { port } = new URL(api.url);
    // fetch does not let a caller set Host; node:http does.
    const status = (host: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        request(`${api.url}/ui/`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
          .on('error', reject)
          .end();
      });
    expect(await status(`rebind.example:${port}`)).toBe(421);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      expect(await status(host), host).toBe(200);
    }
  });
});

describe('the console switched off', () => {
  it('is not served', async () => {
    const api = await startApi({ tokens: [], overrides: { 'console.enabled': false } });
    try {
      expect((await send(`${api.url}/ui/`)).status).toBe(404);
    } finally {
      await api.close();
    }
  });
});
