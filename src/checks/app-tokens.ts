// Access tokens of the app-only grants, in memory, shared by every check of this process. One
// Microsoft 365 tenant token serves all of its mailboxes: it is cached per (grant, token URL,
// client id, scope, credential) until shortly before expiry, and while it is being fetched every
// other check waits on that one request instead of asking too (no stampede on the token endpoint).
// A Google token acts as one mailbox, so its key has the mailbox too. Tokens are never stored:
// a restart asks again, once per tenant.
import { createHash } from 'node:crypto';
import { ProbeError, toError, type FailureCode } from '../probes/errors.js';
import type { ServiceAuth } from '../accounts/types.js';
import {
  GOOGLE_MAIL_SCOPE,
  MICROSOFT_DEFAULT_SCOPE,
  requestAppToken,
  type AppGrantRequest,
} from '../probes/oauth2-app.js';
import type { OAuth2Deps, OAuth2Token } from '../probes/oauth2.js';
import { REFRESH_MARGIN_MS } from './oauth-refresh.js';

/** A token whose answer gave no expires_in is reused this long. */
export const UNKNOWN_EXPIRY_LIFETIME_MS = 5 * 60_000;
/** Above this many cached tokens, expired ones are dropped at the next insert. */
const PRUNE_ABOVE = 10_000;

export type TokenRequestResult = 'ok' | FailureCode;

export interface AppTokenDeps {
  clock: () => Date;
  /** Called once per request sent to a token endpoint, with its grant and outcome. */
  onRequest?: (grant: string, result: TokenRequestResult) => void;
  /** For tests of the cache alone; default requestAppToken. */
  request?: typeof requestAppToken;
}

interface Entry {
  token?: { accessToken: string; expiresAt: number };
  pending?: Promise<OAuth2Token>;
}

export class AppTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: AppTokenDeps) {}

  /**
   * A usable access token for `req`: the cached one, the one being fetched, or a new request. The
   * shared request runs under its own `timeoutMs` deadline, not the caller's signal, so one check
   * being cancelled does not fail the others waiting on it; `signal` only stops this caller waiting.
   */
  async get(
    req: AppGrantRequest,
    options: { signal: AbortSignal; timeoutMs: number; oauth2?: OAuth2Deps },
  ): Promise<string> {
    const key = cacheKey(req);
    const now = this.deps.clock().getTime();
    let entry = this.entries.get(key);
    if (entry?.token && entry.token.expiresAt - now > REFRESH_MARGIN_MS) return entry.token.accessToken;
    if (entry?.pending === undefined) {
      entry ??= {};
      this.entries.set(key, entry);
      entry.pending = this.fetch(key, entry, req, options);
    }
    const token = await waitFor(entry.pending, options.signal);
    return token.accessToken;
  }

  /** Forget `accessToken` (the mail server refused it: revoked before its expiry). */
  invalidate(req: AppGrantRequest, accessToken: string): void {
    const key = cacheKey(req);
    if (this.entries.get(key)?.token?.accessToken === accessToken) this.entries.delete(key);
  }

  /** Tokens cached (for tests and the bound). */
  get size(): number {
    return this.entries.size;
  }

  private async fetch(
    key: string,
    entry: Entry,
    req: AppGrantRequest,
    options: { timeoutMs: number; oauth2?: OAuth2Deps },
  ): Promise<OAuth2Token> {
    const request = this.deps.request ?? requestAppToken;
    try {
      const token = await request(req, AbortSignal.timeout(options.timeoutMs), {
        now: this.deps.clock,
        ...options.oauth2,
      });
      this.deps.onRequest?.(req.grant, 'ok');
      const fetchedAt = this.deps.clock().getTime();
      entry.token = {
        accessToken: token.accessToken,
        expiresAt: token.expiresAt?.getTime() ?? fetchedAt + UNKNOWN_EXPIRY_LIFETIME_MS,
      };
      this.prune(fetchedAt);
      return token;
    } catch (thrown) {
      const error = toError(thrown);
      const failure =
        error instanceof ProbeError
          ? error
          : new ProbeError('oauth_endpoint_unreachable', 'auth', 'token request failed unexpectedly', {
              cause: new Error(error.name),
            });
      this.deps.onRequest?.(req.grant, failure.code);
      // A failure is not cached: the next check asks again (the account's schedule paces it).
      if (this.entries.get(key) === entry && entry.token === undefined) this.entries.delete(key);
      throw failure;
    } finally {
      entry.pending = undefined;
    }
  }

  private prune(now: number): void {
    if (this.entries.size <= PRUNE_ABOVE) return;
    for (const [key, entry] of this.entries) {
      if (entry.pending === undefined && (entry.token?.expiresAt ?? 0) <= now) this.entries.delete(key);
    }
  }
}

/**
 * What makes two requests interchangeable. The credential is part of it as a hash: an account
 * saved with a wrong secret for a tenant must not borrow the token another account's right secret got.
 */
function cacheKey(req: AppGrantRequest): string {
  const credential =
    req.grant === 'client_credentials'
      ? [
          req.clientSecret ?? '',
          req.certificate?.privateKeyPem ?? '',
          req.certificate?.thumbprint ?? '',
        ].join('\0')
      : req.privateKeyPem;
  const digest = createHash('sha256').update(credential).digest('base64url');
  const subject = req.grant === 'jwt_bearer' ? req.subject : '';
  return [req.grant, req.tokenUrl, req.clientId, req.scope, subject, digest].join('\0');
}

/** The app-only grant request of an oauth2 side, or null when the side uses a refresh token (or none). */
export function appGrantRequest(auth: ServiceAuth): AppGrantRequest | null {
  const oauth = auth.oauth;
  if (!oauth || auth.authType !== 'oauth2') return null;
  if (oauth.grant === 'client_credentials') {
    const key = oauth.privateKey ?? null;
    return {
      grant: 'client_credentials',
      tokenUrl: oauth.tokenUrl,
      clientId: oauth.clientId,
      scope: oauth.scope ?? MICROSOFT_DEFAULT_SCOPE,
      clientSecret: key === null ? oauth.clientSecret : null,
      certificate: key === null ? null : { privateKeyPem: key, thumbprint: oauth.certThumbprint ?? '' },
    };
  }
  if (oauth.grant === 'jwt_bearer') {
    return {
      grant: 'jwt_bearer',
      tokenUrl: oauth.tokenUrl,
      clientId: oauth.clientId,
      scope: oauth.scope ?? GOOGLE_MAIL_SCOPE,
      privateKeyPem: oauth.privateKey ?? '',
      subject: auth.username,
    };
  }
  return null;
}

/** `promise`, or the signal's reason when it aborts first. */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(toError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(toError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(toError(error));
      },
    );
  });
}
