// A small OAuth2 authorization server for tests, on 127.0.0.1: POST /token (refresh_token grant,
// client_secret_post, refresh tokens rotated on every use, the old one revoked; with `app`, also the
// app-only grants: client_credentials with a client secret or a client_assertion JWT, and the JWT
// bearer grant of a service account, each assertion's RS256 signature, x5t, aud, iss/sub and times
// verified here independently of mailmon's code) and POST /introspect (RFC 7662, as Dovecot's oauth2
// passdb asks it). Expiry follows the test's clock.
import { createHash, createPublicKey, randomBytes, verify, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface TokenRequest {
  clientOk: boolean;
  scope: string | null;
  /** The answer's HTTP status. */
  status: number;
  /** The grant_type asked for. */
  grant?: string | null;
  /** How the client proved itself: a secret, a certificate assertion, a service-account assertion. */
  credential?: 'secret' | 'certificate' | 'service_account' | 'none';
  /** jwt_bearer: the mailbox asked for. */
  subject?: string;
}

/** The app registrations the endpoint knows (Microsoft 365 tenant app, Google service account). */
export interface AppRegistration {
  /** client_credentials: the app's client id, its secret and its certificate (PEM). */
  clientId: string;
  clientSecret: string;
  certificatePem: string;
  /** jwt_bearer: the service account's client_email and public key (PEM). */
  serviceAccount: { email: string; publicKeyPem: string };
  /** Mailboxes the apps are authorized for (consent, domain-wide delegation). */
  mailboxes: string[];
  /** What /introspect answers as `username` for a tenant token (it names no mailbox itself). */
  introspectionUser: string;
}

/** A canned answer for the next token request(s), as a provider sends it. */
export interface CannedAnswer {
  status: number;
  body: string;
  contentType?: string;
}

export interface TokenEndpoint {
  /** http://127.0.0.1:PORT, or https:// with `tls` */
  url: string;
  /** /introspect over plain http on 127.0.0.1 (for Dovecot, which is not given the test CA); = `${url}/introspect` without tls. */
  introspectionUrl: string;
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
  /** True while `accessToken` is unexpired and may act as `user` (its own, or any consented mailbox for a tenant token). */
  validFor(accessToken: string, user: string): boolean;
  /** The next token requests get these answers, in order, instead of the real ones. */
  answerNext(...answers: CannedAnswer[]): void;
  /** Delay every token answer by this many ms (to make concurrent requests overlap). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const TENANT = '*tenant*';

const EXPIRES_IN_S = 3600;

export async function startTokenEndpoint(options: {
  clientId: string;
  clientSecret: string;
  now: () => Date;
  /** Serve HTTPS with this certificate (it must name 127.0.0.1). */
  tls?: { certPem: string; keyPem: string };
  /** The app-only grants' registrations; without it they are refused as unsupported. */
  app?: AppRegistration;
}): Promise<TokenEndpoint> {
  const canned: CannedAnswer[] = [];
  let delayMs = 0;
  let baseUrl = '';
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
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const cannedAnswer = canned.shift();
    if (cannedAnswer) {
      tokenRequests.push({
        clientOk: false,
        scope: form.get('scope'),
        status: cannedAnswer.status,
        grant: form.get('grant_type'),
      });
      res.writeHead(cannedAnswer.status, {
        'content-type': cannedAnswer.contentType ?? 'application/json',
        connection: 'close',
      });
      res.end(cannedAnswer.body);
      return;
    }
    const grantType = form.get('grant_type');
    if (grantType === 'client_credentials' || grantType === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return appToken(form, res);
    }
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

  /** The app-only grants: every check a provider makes of the client and the assertion. */
  const appToken = (form: URLSearchParams, res: ServerResponse) => {
    const app = options.app;
    const grant = form.get('grant_type');
    const scope = form.get('scope');
    const record = (status: number, body: unknown, extra: Partial<TokenRequest>) => {
      tokenRequests.push({ clientOk: status === 200, scope, status, grant, ...extra });
      answer(res, status, body);
    };
    const tokenUrl = `${baseUrl}/token`;
    const nowS = options.now().getTime() / 1000;
    if (!app) return record(400, { error: 'unsupported_grant_type' }, { credential: 'none' });
    const issueFor = (user: string, extra: Partial<TokenRequest>) => {
      const access = issue('app');
      accessTokens.set(access, { user, expiresAt: options.now().getTime() + EXPIRES_IN_S * 1000 });
      record(200, { access_token: access, token_type: 'Bearer', expires_in: EXPIRES_IN_S }, extra);
    };
    if (grant === 'client_credentials') {
      if (form.get('client_id') !== app.clientId)
        return record(
          400,
          {
            error: 'unauthorized_client',
            error_description: 'AADSTS700016: Application not found in the directory',
          },
          { credential: 'none' },
        );
      if (scope !== 'https://outlook.office365.com/.default')
        return record(
          400,
          {
            error: 'invalid_scope',
            error_description: 'AADSTS70011: The provided value for scope is not valid',
          },
          { credential: 'none' },
        );
      const assertionType = form.get('client_assertion_type');
      if (assertionType !== null) {
        const claims =
          assertionType === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
            ? verifyJwt(form.get('client_assertion') ?? '', app.certificatePem, x5tOf(app.certificatePem))
            : null;
        const ok =
          claims !== null &&
          claims.aud === tokenUrl &&
          claims.iss === app.clientId &&
          claims.sub === app.clientId &&
          typeof claims.jti === 'string' &&
          typeof claims.exp === 'number' &&
          claims.exp > nowS &&
          claims.exp - nowS <= 3600 &&
          (typeof claims.nbf !== 'number' || claims.nbf <= nowS + 60);
        if (!ok)
          return record(
            401,
            {
              error: 'invalid_client',
              error_description: 'AADSTS700027: Client assertion failed signature validation.',
            },
            { credential: 'certificate' },
          );
        return issueFor(TENANT, { credential: 'certificate' });
      }
      if (form.get('client_secret') !== app.clientSecret)
        return record(
          401,
          { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' },
          { credential: 'secret' },
        );
      return issueFor(TENANT, { credential: 'secret' });
    }
    // JWT bearer: the service account's signed assertion, sub = the mailbox.
    const claims = verifyJwt(form.get('assertion') ?? '', app.serviceAccount.publicKeyPem, null);
    const subject = typeof claims?.sub === 'string' ? claims.sub : '';
    const extra = { credential: 'service_account' as const, subject };
    if (claims === null || claims.iss !== app.serviceAccount.email)
      return record(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, extra);
    if (
      claims.aud !== tokenUrl ||
      typeof claims.exp !== 'number' ||
      claims.exp <= nowS ||
      claims.exp - nowS > 3600
    )
      return record(
        400,
        {
          error: 'invalid_grant',
          error_description: 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.',
        },
        extra,
      );
    if (claims.scope !== 'https://mail.google.com/')
      return record(
        400,
        {
          error: 'unauthorized_client',
          error_description:
            'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        },
        extra,
      );
    if (!app.mailboxes.includes(subject))
      return record(400, { error: 'invalid_grant', error_description: 'Invalid email or User ID' }, extra);
    return issueFor(subject, extra);
  };

  const activeUser = (accessToken: string): string | null => {
    const entry = accessTokens.get(accessToken);
    if (!entry || entry.expiresAt <= options.now().getTime()) return null;
    return entry.user === TENANT ? (options.app?.introspectionUser ?? null) : entry.user;
  };

  const validFor = (accessToken: string, user: string): boolean => {
    const entry = accessTokens.get(accessToken);
    if (!entry || entry.expiresAt <= options.now().getTime()) return false;
    return entry.user === TENANT ? (options.app?.mailboxes.includes(user) ?? false) : entry.user === user;
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
  baseUrl = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  // Dovecot's HTTP client would need the test CA for https: it asks a plain-http twin of /introspect.
  const plain = options.tls ? createServer(handle) : null;
  if (plain) await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', () => resolve()));
  const introspectionUrl = plain
    ? `http://127.0.0.1:${(plain.address() as AddressInfo).port}/introspect`
    : `${baseUrl}/introspect`;

  return {
    url: baseUrl,
    introspectionUrl,
    validFor,
    answerNext: (...answers) => void canned.push(...answers),
    setDelay: (ms) => void (delayMs = ms),
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
      for (const s of plain ? [server, plain] : [server]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  };
}

/** The certificate's x5t, computed here from its DER bytes (not with mailmon's helper). */
function x5tOf(certificatePem: string): string {
  return createHash('sha1').update(new X509Certificate(certificatePem).raw).digest('base64url');
}

/**
 * The claims of an RS256 JWT whose signature `keyPem` (a public key or certificate) verifies and
 * whose header names `x5t` (when given); null otherwise.
 */
function verifyJwt(jwt: string, keyPem: string, x5t: string | null): Record<string, unknown> | null {
  const parts = jwt.split('.');
  if (parts.length !== 3) return null;
  const [header, payload, signature] = parts as [string, string, string];
  try {
    const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (head.alg !== 'RS256' || (x5t !== null && head.x5t !== x5t)) return null;
    const key = keyPem.includes('CERTIFICATE')
      ? new X509Certificate(keyPem).publicKey
      : createPublicKey(keyPem);
    const ok = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      key,
      Buffer.from(signature, 'base64url'),
    );
    return ok
      ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
