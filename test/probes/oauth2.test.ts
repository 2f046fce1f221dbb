// refreshAccessToken against a small local token endpoint (node:http on 127.0.0.1), and the
// refreshed token used for XOAUTH2 against an SMTP server that checks it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_EGRESS_CONFIG } from '../../src/egress/config.js';
import { createEgressResolver } from '../../src/egress/resolver.js';
import { ProbeError } from '../../src/probes/errors.js';
import { refreshAccessToken, type OAuth2RefreshRequest } from '../../src/probes/oauth2.js';
import { createSmtpProbe } from '../../src/probes/smtp.js';
import { closedPort } from '../peers/misbehaving.js';
import { startSmtpServer } from '../peers/smtp.js';
import { runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const REFRESH = 'rt-1.refresh-token-value';
const SECRET = 'client-secret-value';
const NOW = new Date('2026-11-22T10:00:00Z');

type Handler = (form: URLSearchParams, res: ServerResponse) => void;

interface TokenEndpoint {
  url: string;
  requests: URLSearchParams[];
  close(): Promise<void>;
}

async function startTokenEndpoint(handle: Handler): Promise<TokenEndpoint> {
  const requests: URLSearchParams[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      res.setHeader('connection', 'close');
      handle(form, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth2/token`,
    requests,
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

  it('a refused refresh token: oauth_token_refresh_failed naming the OAuth error, without the token', async () => {
    endpoint = await startTokenEndpoint(provider('at-fresh'));
    const err = await refusal({ refreshToken: 'rt-0.revoked-token' });
    expect({ code: err.code, phase: err.phase }).toEqual({
      code: 'oauth_token_refresh_failed',
      phase: 'auth',
    });
    expect(err.message).toBe(
      'token endpoint answered HTTP 400: invalid_grant: refresh token **** is expired',
    );
  });

  it('a refused client: HTTP 401 invalid_client', async () => {
    endpoint = await startTokenEndpoint(provider('at-fresh'));
    const err = await refusal({ clientSecret: 'wrong-secret' });
    expect(err.message).toBe('token endpoint answered HTTP 401: invalid_client');
  });

  it('an answer without access_token', async () => {
    endpoint = await startTokenEndpoint((_f, res) => json(res, 200, { token_type: 'Bearer' }));
    expect((await refusal({})).message).toBe('token endpoint answer has no access_token');
  });

  it('an unreachable endpoint', async () => {
    const err = await refusal({ tokenUrl: `http://127.0.0.1:${await closedPort()}/token` });
    expect(err.code).toBe('oauth_token_refresh_failed');
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
