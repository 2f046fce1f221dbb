// Token endpoints are held to egress.tokenEndpointPorts and their answers are bounded: a local HTTPS
// token endpoint (test CA, 127.0.0.1) that answers 10 MB, a 100 KB token or a token longer than
// mailmon stores gets a clear oauth_endpoint_unreachable, and one on a port outside the list gets
// egress_denied naming the key, before any request is sent.
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_EGRESS_CONFIG } from '../../src/egress/config.js';
import { decidePort } from '../../src/egress/policy.js';
import { createEgressResolver } from '../../src/egress/resolver.js';
import { ProbeError } from '../../src/probes/errors.js';
import { refreshAccessToken } from '../../src/probes/oauth2.js';
import { MAX_TOKEN_CHARS } from '../../src/probes/token-endpoint.js';
import { certFor } from '../peers/certs.js';
import { snapshotHandles, type HandleSnapshot } from './helpers.js';

const REFRESH = 'rt-bounded-refresh-token';
const SECRET = 'bounded-client-secret';

interface Endpoint {
  url: string;
  port: number;
  requests: number;
  close(): Promise<void>;
}

async function startHttpsEndpoint(answer: (res: ServerResponse) => void): Promise<Endpoint> {
  const { certPem, keyPem } = await certFor('valid');
  const endpoint = { requests: 0 } as Endpoint;
  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    endpoint.requests++;
    req.resume();
    req.on('end', () => {
      res.setHeader('connection', 'close');
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint.port = (server.address() as AddressInfo).port;
  endpoint.url = `https://127.0.0.1:${endpoint.port}/oauth2/token`;
  endpoint.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return endpoint;
}

const json = (body: unknown) => (res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** 10 MB streamed in 64 KB chunks without a length, as a misbehaving endpoint would. */
const tenMegabytes = (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  const more = (): void => {
    while (sent < 160) {
      sent++;
      if (!res.write(chunk)) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  res.write('{"access_token":"');
  more();
};

describe('token endpoint answers are bounded', () => {
  const endpoints: Endpoint[] = [];
  let handles: HandleSnapshot;
  let caPem: string;
  beforeEach(async () => {
    handles = snapshotHandles();
    caPem = (await certFor('valid')).caPem;
  });
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((e) => e.close()));
    await handles.assertNoLeak(2_000);
  });
  const start = async (answer: (res: ServerResponse) => void) => {
    const endpoint = await startHttpsEndpoint(answer);
    endpoints.push(endpoint);
    return endpoint;
  };
  const refresh = (url: string, deps = {}) =>
    refreshAccessToken(
      { tokenUrl: url, clientId: 'mailmon', clientSecret: SECRET, refreshToken: REFRESH },
      new AbortController().signal,
      { caPem, ...deps },
    );
  const failure = async (promise: Promise<unknown>): Promise<ProbeError> => {
    const err: unknown = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProbeError);
    // Neither the credentials nor any of the answer's content in the error or its cause chain.
    const everything = inspect(err, { depth: 10, showHidden: true });
    for (const canary of [REFRESH, SECRET, 'aaaaaaaa', 'rrrrrrrr']) expect(everything).not.toContain(canary);
    return err as ProbeError;
  };

  it('a 10 MB answer fails with a clear reason', async () => {
    const endpoint = await start(tenMegabytes);
    const err = await failure(refresh(endpoint.url));
    expect(err).toMatchObject({
      code: 'oauth_endpoint_unreachable',
      phase: 'auth',
      message: 'token endpoint answer is larger than 64 KiB: not a token response',
    });
  });

  it('a 100 KB access token fails with the same reason', async () => {
    const endpoint = await start(json({ access_token: 'a'.repeat(100 * 1024), expires_in: 3600 }));
    const err = await failure(refresh(endpoint.url));
    expect(err.message).toBe('token endpoint answer is larger than 64 KiB: not a token response');
  });

  it('an access token longer than mailmon stores, in a small enough answer, fails naming the field', async () => {
    const endpoint = await start(json({ access_token: 'a'.repeat(60_000), expires_in: 3600 }));
    const err = await failure(refresh(endpoint.url));
    expect(err).toMatchObject({ code: 'oauth_endpoint_unreachable', phase: 'auth' });
    expect(err.message).toBe(
      `token endpoint answer's access_token is 60000 characters, more than the ${MAX_TOKEN_CHARS} mailmon stores`,
    );
  });

  it('so does a rotated refresh token that long', async () => {
    const endpoint = await start(
      json({ access_token: 'at-ok', refresh_token: 'r'.repeat(MAX_TOKEN_CHARS + 1) }),
    );
    expect((await failure(refresh(endpoint.url))).message).toMatch(/refresh_token is 8193 characters/);
  });

  it('the longest token mailmon stores is accepted', async () => {
    const longest = 'a'.repeat(MAX_TOKEN_CHARS);
    const endpoint = await start(json({ access_token: longest, refresh_token: `r${longest.slice(1)}` }));
    const token = await refresh(endpoint.url);
    expect(token.accessToken).toBe(longest);
  });
});

describe('token endpoints are held to egress.tokenEndpointPorts', () => {
  let endpoint: Endpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
  });
  const loopback = { ...DEFAULT_EGRESS_CONFIG, allowCidrs: ['127.0.0.1'] };

  it('allows 443 by default and refuses other ports, naming the key', () => {
    expect(decidePort(443, DEFAULT_EGRESS_CONFIG, 'tokenEndpointPorts')).toEqual({ allowed: true });
    expect(decidePort(8443, DEFAULT_EGRESS_CONFIG, 'tokenEndpointPorts')).toEqual({
      allowed: false,
      rule: 'port',
      configKey: 'egress.tokenEndpointPorts',
      message:
        'egress denied: port 8443 is not in egress.tokenEndpointPorts [443] (add it there, or set egress.tokenEndpointPorts to null to allow any port)',
    });
    // The mail ports are not token endpoint ports, nor the other way round.
    expect(decidePort(587, DEFAULT_EGRESS_CONFIG, 'tokenEndpointPorts')).toMatchObject({ allowed: false });
    expect(decidePort(443, DEFAULT_EGRESS_CONFIG)).toMatchObject({ allowed: false });
  });

  it('a token endpoint on a port outside the list is refused before any request', async () => {
    endpoint = await startHttpsEndpoint(json({ access_token: 'at-never' }));
    const { caPem } = await certFor('valid');
    const checkHost = createEgressResolver(loopback, undefined, 'tokenEndpointPorts');
    const err: unknown = await refreshAccessToken(
      { tokenUrl: endpoint.url, clientId: 'mailmon', refreshToken: REFRESH },
      new AbortController().signal,
      { checkHost, caPem },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'egress_denied',
      phase: 'auth',
      message: expect.stringMatching(
        new RegExp(
          `^OAuth2 token endpoint: egress denied: port ${endpoint.port} is not in egress\\.tokenEndpointPorts \\[443\\]`,
        ),
      ),
    });
    expect(endpoint.requests).toBe(0);
  });

  it('a port listed in egress.tokenEndpointPorts is allowed', async () => {
    endpoint = await startHttpsEndpoint(json({ access_token: 'at-listed' }));
    const { caPem } = await certFor('valid');
    const checkHost = createEgressResolver(
      { ...loopback, tokenEndpointPorts: [443, endpoint.port] },
      undefined,
      'tokenEndpointPorts',
    );
    const token = await refreshAccessToken(
      { tokenUrl: endpoint.url, clientId: 'mailmon', refreshToken: REFRESH },
      new AbortController().signal,
      { checkHost, caPem },
    );
    expect(token.accessToken).toBe('at-listed');
    expect(endpoint.requests).toBe(1);
  });
});
