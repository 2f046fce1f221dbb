// The app-only token cache as pure logic (the token endpoint replaced by a counted function; the
// real endpoint, Dovecot and smtp-server: test/integration/oauth-app.test.ts): one request for all
// waiting checks, reuse until a minute before expiry, failures not cached, a refused token dropped,
// one caller's cancellation not failing the others.
import { describe, expect, it } from 'vitest';
import { AppTokenCache } from '../../src/checks/app-tokens.js';
import { ProbeError } from '../../src/probes/errors.js';
import type { AppGrantRequest } from '../../src/probes/oauth2-app.js';
import type { OAuth2Token } from '../../src/probes/oauth2.js';

const tenant = (secret = 's1'): AppGrantRequest => ({
  grant: 'client_credentials',
  tokenUrl: 'https://login.example.test/t/token',
  clientId: 'app',
  scope: 'https://outlook.office365.com/.default',
  clientSecret: secret,
  certificate: null,
});

function setup() {
  let now = new Date('2026-12-01T00:00:00Z');
  let n = 0;
  const results: string[] = [];
  let next: () => Promise<OAuth2Token> = async () => ({
    accessToken: `tok-${++n}`,
    expiresAt: new Date(now.getTime() + 3600_000),
  });
  const cache = new AppTokenCache({
    clock: () => now,
    onRequest: (grant, result) => results.push(`${grant}:${result}`),
    request: () => next(),
  });
  const get = (req = tenant(), signal = new AbortController().signal) =>
    cache.get(req, { signal, timeoutMs: 1000 });
  return {
    cache,
    get,
    results,
    requests: () => n,
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
    setNext: (fn: () => Promise<OAuth2Token>) => (next = fn),
  };
}

describe('AppTokenCache', () => {
  it('concurrent checks share one request; the token is reused until a minute before it expires', async () => {
    const t = setup();
    expect(await Promise.all(Array.from({ length: 20 }, () => t.get()))).toEqual(Array(20).fill('tok-1'));
    expect(t.requests()).toBe(1);
    t.advance(3600_000 - 61_000);
    expect(await t.get()).toBe('tok-1');
    t.advance(2_000);
    expect(await t.get()).toBe('tok-2');
    expect(t.results).toEqual(['client_credentials:ok', 'client_credentials:ok']);
  });

  it('another credential for the same app is another token (a wrong secret never borrows a good one)', async () => {
    const t = setup();
    expect(await t.get(tenant('s1'))).toBe('tok-1');
    expect(await t.get(tenant('s2'))).toBe('tok-2');
  });

  it('a failure reaches every waiting check, is counted once, and is not cached', async () => {
    const t = setup();
    t.setNext(async () => {
      throw new ProbeError(
        'oauth_client_invalid',
        'auth',
        'token endpoint answered HTTP 401: invalid_client',
      );
    });
    const settled = await Promise.allSettled([t.get(), t.get(), t.get()]);
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as ProbeError).code : 'ok'))).toEqual(
      Array(3).fill('oauth_client_invalid'),
    );
    expect(t.results).toEqual(['client_credentials:oauth_client_invalid']);
    t.setNext(async () => ({ accessToken: 'tok-good' }));
    expect(await t.get()).toBe('tok-good');
  });

  it('a token the server refused is dropped: the next check asks again', async () => {
    const t = setup();
    const first = await t.get();
    t.cache.invalidate(tenant(), first);
    expect(await t.get()).toBe('tok-2');
  });

  it('one caller giving up does not fail the others waiting on the same request', async () => {
    const t = setup();
    let release!: () => void;
    t.setNext(() => new Promise((resolve) => (release = () => resolve({ accessToken: 'slow' }))));
    const impatient = new AbortController();
    const a = t.get(tenant(), impatient.signal);
    const b = t.get();
    impatient.abort(new Error('check cancelled'));
    await expect(a).rejects.toThrow('check cancelled');
    release();
    expect(await b).toBe('slow');
  });
});
