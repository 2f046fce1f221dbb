// refreshAccessToken against a small local token endpoint (node:http on 127.0.0.1), and the
// refreshed token used for XOAUTH2 against an SMTP server that checks it. The pinning tests serve
// the endpoint over TLS under host names no resolver knows: the request only arrives when it goes
// to the address the egress check returned, and the certificate is checked for the URL's name.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { setDefaultAutoSelectFamily, getDefaultAutoSelectFamily, type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_EGRESS_CONFIG } from '../../src/egress/config.js';
import { createEgressResolver } from '../../src/egress/resolver.js';
import { ProbeError } from '../../src/probes/errors.js';
import { refreshAccessToken, type OAuth2RefreshRequest } from '../../src/probes/oauth2.js';
import { createSmtpProbe } from '../../src/probes/smtp.js';
import { certFor, type CertKind } from '../peers/certs.js';
import { closedPort } from '../peers/misbehaving.js';
import { startSmtpServer } from '../peers/smtp.js';
import { runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const REFRESH = 'rt-1.refresh-token-value';
const SECRET = 'client-secret-value';
const NOW = new Date('2026-11-22T10:00:00Z');

type Handler = (form: URLSearchParams, res: ServerResponse) => void;

interface TokenEndpoint {
  url: string;
  port: number;
  requests: URLSearchParams[];
  /** Per request: the Host header, and the SNI name (TLS only). */
  seen: { host: string | undefined; servername: string | false | null | undefined }[];
  close(): Promise<void>;
}

/** A token endpoint on 127.0.0.1: plain HTTP, or HTTPS with one of the test certificates. */
async function startTokenEndpoint(handle: Handler, tls?: CertKind): Promise<TokenEndpoint> {
  const requests: URLSearchParams[] = [];
  const seen: TokenEndpoint['seen'] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      seen.push({
        host: req.headers.host,
        servername: tls ? (req.socket as TLSSocket).servername : undefined,
      });
      res.setHeader('connection', 'close');
      handle(form, res);
    });
  };
  let server: Server;
  if (tls) {
    const { certPem, keyPem } = await certFor(tls);
    server = createHttpsServer({ cert: certPem, key: keyPem }, onRequest);
  } else {
    server = createServer(onRequest);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/oauth2/token`,
    port,
    requests,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The token endpoint a real provider would be: issues access tokens for one refresh token. */
const provider =
  (accessToken: string, rotate?: string): Handler =>
  (form, res) => {
    if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== REFRESH) {
      return json(res, 400, {
        error: 'invalid_grant',
        error_description: `refresh token ${form.get('refresh_token')} is expired`,
      });
    }
    if (form.get('client_id') !== 'mailmon-client' || form.get('client_secret') !== SECRET) {
      return json(res, 401, { error: 'invalid_client' });
    }
    json(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 3599,
      ...(rotate ? { refresh_token: rotate } : {}),
    });
  };

describe('refreshAccessToken', () => {
  let endpoint: TokenEndpoint | undefined;
  let handles: HandleSnapshot;
  const request = (extra: Partial<OAuth2RefreshRequest> = {}): OAuth2RefreshRequest => ({
    tokenUrl: endpoint?.url ?? 'http://127.0.0.1:9/unused',
    clientId: 'mailmon-client',
    clientSecret: SECRET,
    refreshToken: REFRESH,
    scope: 'https://mail.example.test/smtp offline_access',
    ...extra,
  });
  const signal = (): AbortSignal => new AbortController().signal;

  beforeEach(() => {
    handles = snapshotHandles();
  });
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
    await handles.assertNoLeak(2_000);
  });

  it('exchanges the refresh token (form-encoded, client_secret_post) and reports expiry and rotation', async () => {
    endpoint = await startTokenEndpoint(provider('at-fresh', 'rt-2.rotated'));
    const token = await refreshAccessToken(request(), signal(), { now: () => NOW });
    expect(token).toEqual({
      accessToken: 'at-fresh',
      expiresAt: new Date('2026-11-22T10:59:59Z'),
      refreshToken: 'rt-2.rotated',
    });
    expect(Object.fromEntries(endpoint.requests[0]!)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: REFRESH,
      client_id: 'mailmon-client',
      client_secret: SECRET,
      scope: 'https://mail.example.test/smtp offline_access',
    });
  });

  it('no rotated refresh token when the endpoint returns none', async () => {
    endpoint = await startTokenEndpoint(provider('at-fresh'));
    const token = await refreshAccessToken(request(), signal(), { now: () => NOW });
    expect(token.refreshToken).toBeUndefined();
  });

  async function refusal(extra: Partial<OAuth2RefreshRequest>, abort = signal()): Promise<ProbeError> {
    const err: unknown = await refreshAccessToken(request(extra), abort).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProbeError);
    return err as ProbeError;
  }

  it('a refused refresh token: oauth_grant_invalid naming the OAuth error, without the token', async () => {
    endpoint = await startTokenEndpoint(provider('at-fresh'));
    const err = await refusal({ refreshToken: 'rt-0.revoked-token' });
    expect({ code: err.code, phase: err.phase }).toEqual({
      code: 'oauth_grant_invalid',
      phase: 'auth',
    });
    expect(err.message).toBe(
      'token endpoint answered HTTP 400: invalid_grant: refresh token **** is expired',
    );
  });

  it('a refused client: HTTP 401 invalid_client', async () => {
    endpoint = await startTokenEndpoint(provider('at-fresh'));
    const err = await refusal({ clientSecret: 'wrong-secret' });
    expect(err.code).toBe('oauth_client_invalid');
    expect(err.message).toBe('token endpoint answered HTTP 401: invalid_client');
  });

  it('an answer without access_token', async () => {
    endpoint = await startTokenEndpoint((_f, res) => json(res, 200, { token_type: 'Bearer' }));
    const err = await refusal({});
    expect(err.code).toBe('oauth_endpoint_unreachable');
    expect(err.message).toBe('token endpoint answer has no access_token');
  });

  it('an unreachable endpoint', async () => {
    const err = await refusal({ tokenUrl: `http://127.0.0.1:${await closedPort()}/token` });
    expect(err.code).toBe('oauth_endpoint_unreachable');
    expect(err.message).toBe('token request failed (ECONNREFUSED)');
  });

  it('an endpoint that never answers: fails as soon as the signal aborts', async () => {
    endpoint = await startTokenEndpoint(() => undefined);
    const t0 = performance.now();
    const err = await refusal({}, AbortSignal.timeout(200));
    expect(err.message).toBe('token endpoint did not answer in time');
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('asks the egress policy about the token endpoint first: refused means no request is sent', async () => {
    endpoint = await startTokenEndpoint(provider('at-fresh', 'rt-2.rotated'));
    const asked: string[] = [];
    const policy = createEgressResolver({ ...DEFAULT_EGRESS_CONFIG, allowedPorts: null });
    const checkHost = (host: string, port: number, s: AbortSignal) => {
      asked.push(`${host}:${port}`);
      return policy(host, port, s);
    };
    const refused = await refreshAccessToken(request(), signal(), { checkHost }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'egress_denied', phase: 'auth' });
    expect((refused as Error).message).toMatch(
      /^OAuth2 token endpoint: egress denied: 127\.0\.0\.1 is loopback/,
    );
    expect(asked).toEqual([`127.0.0.1:${new URL(endpoint.url).port}`]);
    expect(endpoint.requests).toHaveLength(0);

    const allowing = createEgressResolver({
      ...DEFAULT_EGRESS_CONFIG,
      allowedPorts: null,
      allowCidrs: ['127.0.0.1'],
    });
    const token = await refreshAccessToken(request(), signal(), { checkHost: allowing });
    expect(token.accessToken).toBe('at-fresh');
  });

  it('refuses a plain-http token URL that is not loopback', async () => {
    const err = await refusal({ tokenUrl: 'http://login.example.com/token' });
    expect({ code: err.code, message: err.message }).toEqual({
      code: 'config_invalid',
      message: 'OAuth2 token URL must use https',
    });
  });

  it('the refreshed access token logs in over SMTP XOAUTH2 at a server that checks it', async () => {
    endpoint = await startTokenEndpoint(provider('at-issued-by-endpoint'));
    const smtp = await startSmtpServer({
      users: [],
      oauthTokens: { 'dave@example.test': 'at-issued-by-endpoint' },
    });
    try {
      const { accessToken } = await refreshAccessToken(request(), signal());
      const { result } = await runProbe(createSmtpProbe(), {
        protocol: 'smtp',
        host: '127.0.0.1',
        port: smtp.port,
        security: 'starttls',
        authType: 'oauth2',
        username: 'dave@example.test',
        secret: accessToken,
        acceptUnverifiedCert: false,
        caPem: smtp.caPem,
      });
      expect(result.ok).toBe(true);
      expect(smtp.authAttempts).toEqual([{ method: 'XOAUTH2', user: 'dave@example.test', ok: true }]);
    } finally {
      await smtp.stop();
    }
  });
});

describe('refreshAccessToken: one lookup, pinned to the checked address', () => {
  const endpoints: TokenEndpoint[] = [];
  let handles: HandleSnapshot;
  const start = async (handle: Handler, tls?: CertKind): Promise<TokenEndpoint> => {
    const endpoint = await startTokenEndpoint(handle, tls);
    endpoints.push(endpoint);
    return endpoint;
  };
  const request = (tokenUrl: string): OAuth2RefreshRequest => ({
    tokenUrl,
    clientId: 'mailmon-client',
    clientSecret: SECRET,
    refreshToken: REFRESH,
  });
  /** An egress check that answers 127.0.0.1 for any name, and remembers what it was asked. */
  const loopbackCheck = () => {
    const asked: string[] = [];
    const checkHost = (host: string, port: number) => {
      asked.push(`${host}:${port}`);
      return Promise.resolve('127.0.0.1');
    };
    return { asked, checkHost };
  };
  const failure = async (promise: Promise<unknown>): Promise<ProbeError> => {
    const err: unknown = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProbeError);
    // Nothing of the credentials anywhere in the error or its cause chain.
    const everything = inspect(err, { depth: 10, showHidden: true });
    expect(everything).not.toContain(REFRESH);
    expect(everything).not.toContain(SECRET);
    return err as ProbeError;
  };

  beforeEach(() => {
    handles = snapshotHandles();
  });
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((e) => e.close()));
    await handles.assertNoLeak(2_000);
  });

  // wrong.example (RFC 2606 reserved, unknown to every resolver) is the one DNS name in the test
  // CA's "wrongname" certificate. The token only comes back if the request went to 127.0.0.1, the
  // checked address, without asking DNS for the name again; and the TLS handshake only succeeds if
  // the certificate was verified for wrong.example (SNI wrong.example), not for 127.0.0.1.
  it.each([true, false])(
    'reaches the checked address under a name no resolver knows, TLS verified for that name (autoSelectFamily %s)',
    async (autoSelectFamily) => {
      const endpoint = await start(provider('at-pinned'), 'wrongname');
      const { asked, checkHost } = loopbackCheck();
      const { caPem } = await certFor('wrongname');
      const before = getDefaultAutoSelectFamily();
      setDefaultAutoSelectFamily(autoSelectFamily);
      try {
        const url = `https://wrong.example:${endpoint.port}/oauth2/token`;
        const token = await refreshAccessToken(request(url), new AbortController().signal, {
          checkHost,
          caPem,
        });
        expect(token.accessToken).toBe('at-pinned');
      } finally {
        setDefaultAutoSelectFamily(before);
      }
      expect(asked).toEqual([`wrong.example:${endpoint.port}`]);
      expect(endpoint.seen).toEqual([
        { host: `wrong.example:${endpoint.port}`, servername: 'wrong.example' },
      ]);
    },
  );

  it('a certificate for other names fails the TLS check with a clear, scrubbed error and sends nothing', async () => {
    const endpoint = await start(provider('at-never'), 'valid'); // 127.0.0.1, ::1, localhost
    const { asked, checkHost } = loopbackCheck();
    const { caPem } = await certFor('valid');
    const url = `https://token.mailmon-test.invalid:${endpoint.port}/oauth2/token`;
    const err = await failure(
      refreshAccessToken(request(url), new AbortController().signal, { checkHost, caPem }),
    );
    expect({ code: err.code, phase: err.phase, message: err.message }).toEqual({
      code: 'oauth_endpoint_unreachable',
      phase: 'auth',
      message:
        'token request failed (certificate is not valid for token.mailmon-test.invalid: ERR_TLS_CERT_ALTNAME_INVALID)',
    });
    expect(asked).toEqual([`token.mailmon-test.invalid:${endpoint.port}`]);
    expect(endpoint.requests).toHaveLength(0);
  });

  it('the certificate is verified at all: an unknown CA fails', async () => {
    const endpoint = await start(provider('at-never'), 'wrongname');
    const { checkHost } = loopbackCheck();
    const url = `https://wrong.example:${endpoint.port}/oauth2/token`;
    const err = await failure(refreshAccessToken(request(url), new AbortController().signal, { checkHost }));
    expect(err.message).toBe(
      'token request failed (certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    );
    expect(endpoint.requests).toHaveLength(0);
  });

  it('an egress check that returns no IP address fails before any request', async () => {
    const endpoint = await start(provider('at-never'));
    const checkHost = () => Promise.resolve('localhost');
    const err = await failure(
      refreshAccessToken(request(endpoint.url), new AbortController().signal, { checkHost }),
    );
    expect(err.message).toBe('egress check of the token endpoint returned no IP address');
    expect(endpoint.requests).toHaveLength(0);
  });

  it('a redirect is a failure and is not followed', async () => {
    const elsewhere = await start(provider('at-elsewhere'));
    const endpoint = await start((_form, res) => {
      res.writeHead(307, { location: elsewhere.url }).end();
    });
    const err = await failure(refreshAccessToken(request(endpoint.url), new AbortController().signal));
    expect(err.message).toBe('token endpoint answered HTTP 307, a redirect (not followed)');
    expect(endpoint.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('an answer over 64 KiB is refused, declared or streamed', async () => {
    const big = JSON.stringify({ access_token: 'x'.repeat(70 * 1024) });
    const declared = await start((_form, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': big.length }).end(big);
    });
    const streamed = await start((_form, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked, no length
      res.write(big.slice(0, 40_000));
      setImmediate(() => res.end(big.slice(40_000)));
    });
    const signal = new AbortController().signal;
    expect((await failure(refreshAccessToken(request(declared.url), signal))).message).toBe(
      'token endpoint answer is larger than 64 KiB: not a token response',
    );
    expect((await failure(refreshAccessToken(request(streamed.url), signal))).message).toBe(
      'token endpoint answer is larger than 64 KiB: not a token response',
    );
  });

  it('an answer that stops halfway: fails when the signal aborts, leaving no socket', async () => {
    const endpoint = await start((_form, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":');
    });
    const t0 = performance.now();
    const err = await failure(refreshAccessToken(request(endpoint.url), AbortSignal.timeout(200)));
    expect(err.message).toBe('token endpoint did not answer in time');
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});
