// A small OAuth2 authorization server for tests, on 127.0.0.1: POST /token (refresh_token grant,
// client_secret_post, refresh tokens rotated on every use, the old one revoked) and POST /introspect
// (RFC 7662, as Dovecot's oauth2 passdb asks it). Expiry follows the test's clock.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface TokenRequest {
  clientOk: boolean;
  scope: string | null;
  /** The answer's HTTP status. */
  status: number;
}

export interface TokenEndpoint {
  /** http://127.0.0.1:PORT, or https:// with `tls` */
  url: string;
  tokenRequests: TokenRequest[];
  /** Access tokens Dovecot asked about, in order. */
  introspected: string[];
  /** Registers a refresh token for `user`. */
  grant(refreshToken: string, user: string): void;
  revoke(refreshToken: string): void;
  refreshTokenValid(refreshToken: string): boolean;
  /** The user an access token belongs to while it is unexpired, else null. */
  activeUser(accessToken: string): string | null;
  /** Every token this endpoint issued (to search outputs for). */
  issued(): string[];
  /** Holds the answer to the next request presenting `refreshToken` until release(). */
  holdToken(refreshToken: string): { reached: Promise<void>; release(): void };
  close(): Promise<void>;
}

const EXPIRES_IN_S = 3600;

export async function startTokenEndpoint(options: {
  clientId: string;
  clientSecret: string;
  now: () => Date;
  /** Serve HTTPS with this certificate (it must name 127.0.0.1). */
  tls?: { certPem: string; keyPem: string };
}): Promise<TokenEndpoint> {
  const refreshTokens = new Map<string, { user: string; valid: boolean }>();
  const accessTokens = new Map<string, { user: string; expiresAt: number }>();
  const holds = new Map<string, { arrived: () => void; released: Promise<void> }>();
  const tokenRequests: TokenRequest[] = [];
  const introspected: string[] = [];
  const issue = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    // Connection: close, so no keep-alive socket outlives a request (Dovecot's client, fetch).
    res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify(body));
  };

  const token = async (form: URLSearchParams, res: ServerResponse) => {
    const clientOk =
      form.get('client_id') === options.clientId && form.get('client_secret') === options.clientSecret;
    const presented = form.get('refresh_token') ?? '';
    const hold = holds.get(presented);
    if (hold) {
      holds.delete(presented);
      hold.arrived();
      await hold.released;
    }
    const grant = refreshTokens.get(presented);
    const reply = (status: number, body: unknown) => {
      tokenRequests.push({ clientOk, scope: form.get('scope'), status });
      answer(res, status, body);
    };
    if (!clientOk) return reply(401, { error: 'invalid_client' });
    if (form.get('grant_type') !== 'refresh_token' || !grant?.valid) {
      return reply(400, { error: 'invalid_grant', error_description: 'refresh token revoked or unknown' });
    }
    grant.valid = false;
    const [access, refresh] = [issue('at'), issue('rt')];
    refreshTokens.set(refresh, { user: grant.user, valid: true });
    accessTokens.set(access, { user: grant.user, expiresAt: options.now().getTime() + EXPIRES_IN_S * 1000 });
    reply(200, {
      access_token: access,
      token_type: 'Bearer',
      expires_in: EXPIRES_IN_S,
      refresh_token: refresh,
    });
  };

  const activeUser = (accessToken: string): string | null => {
    const entry = accessTokens.get(accessToken);
    return entry && entry.expiresAt > options.now().getTime() ? entry.user : null;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      if (req.method === 'POST' && req.url === '/token') {
        token(form, res).catch(() => answer(res, 500, { error: 'server_error' }));
      } else if (req.method === 'POST' && req.url === '/introspect') {
        const presented = form.get('token') ?? '';
        introspected.push(presented);
        const user = activeUser(presented);
        answer(res, 200, user === null ? { active: 'false' } : { active: 'true', username: user });
      } else {
        answer(res, 404, { error: 'not_found' });
      }
    });
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handle)
    : createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    tokenRequests,
    introspected,
    grant: (refreshToken, user) => void refreshTokens.set(refreshToken, { user, valid: true }),
    revoke: (refreshToken) => {
      const grant = refreshTokens.get(refreshToken);
      if (grant) grant.valid = false;
    },
    refreshTokenValid: (refreshToken) => refreshTokens.get(refreshToken)?.valid === true,
    activeUser,
    issued: () => [...refreshTokens.keys(), ...accessTokens.keys()],
    holdToken: (refreshToken) => {
      let release!: () => void;
      let arrived!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const reached = new Promise<void>((resolve) => (arrived = resolve));
      holds.set(refreshToken, { arrived, released });
      return { reached, release };
    },
    close: async () => {
      for (const hold of holds.values()) hold.arrived();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
