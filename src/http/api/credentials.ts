// Write-only secrets: how a create or update body becomes what the repository stores, and the rules
// that keep a stored password, refresh token or client secret from being redirected.
import type { AccountInput, OAuthInput, ServiceAuthInput } from '../../accounts/repository.js';
import type { EmailAccount, OAuthSettings, ServiceAuth } from '../../accounts/types.js';
import { defaultSecurityForPort } from '../../accounts/fields.js';
import { keepsPassword } from '../../accounts/superoffice-schema.js';
import type { ProbeTarget, Protocol } from '../../probes/types.js';
import { fieldError } from '../errors.js';
import type { AccountInputBody, CredentialsInputBody, OAuthInputBody } from './schemas.js';

/**
 * A kept password may only go to the server it was given for. Changing server, port or user name
 * (or dropping TLS) while keeping the stored password would let anyone with API access, who cannot
 * read passwords, have mailmon send one to a server of their choosing; such a change must come with
 * the password. Returns the reason, or null when keeping is fine.
 */
export function redirectsStoredPassword(
  stored: Pick<
    ServiceAuth,
    'server' | 'port' | 'username' | 'security' | 'acceptUnverifiedCert' | 'caPem' | 'authType'
  >,
  next: Pick<
    ServiceAuthInput,
    'server' | 'port' | 'username' | 'security' | 'acceptUnverifiedCert' | 'caPem' | 'authType'
  >,
): string | null {
  if (stored.server.toLowerCase() !== next.server.toLowerCase()) return 'server';
  if (stored.port !== next.port) return 'port';
  if (stored.username !== next.username) return 'username';
  if (stored.security !== 'none' && next.security === 'none') return 'security';
  // Another mechanism may send the secret in a weaker form (cram-md5 → plain, in clear without TLS).
  if (stored.authType !== next.authType) return 'authType';
  // Trusting more (any certificate, or a new CA) would let an impostor's certificate pass.
  if (!stored.acceptUnverifiedCert && next.acceptUnverifiedCert) return 'acceptUnverifiedCert';
  if (next.caPem !== null && next.caPem !== stored.caPem) return 'caPem';
  return null;
}

/**
 * Checks that a side which keeps its stored password has one to keep, at the same server. `path` is
 * the password's field path reported in the 400 (e.g. `incoming.password`).
 */
export function checkKeptPassword(
  path: string,
  stored: ServiceAuth | null,
  next: ServiceAuthInput | null,
): void {
  if (next === null || next.password !== undefined) return;
  if (stored === null) throw fieldError(path, 'is required for new credentials');
  const changed = redirectsStoredPassword(stored, next);
  if (changed !== null) {
    throw fieldError(
      path,
      `is required when ${changed} changes: a stored password is only sent to the server it was given for`,
    );
  }
}

const CLIENT_CHANGED =
  'is required when tokenUrl or clientId changes: a stored secret is only sent to the token endpoint it was given for';

/**
 * An `oauth` object → repository input. A kept refresh token or client secret must have been stored
 * for the same token endpoint and client; `stored` is the side's stored settings (secrets not read).
 */
function toOAuthInput(path: string, oauth: OAuthInputBody, stored: OAuthSettings | null): OAuthInput {
  const sameClient = stored?.tokenUrl === oauth.tokenUrl && stored.clientId === oauth.clientId;
  const keepRefresh = keepsPassword(oauth.refreshToken);
  if (keepRefresh && stored === null)
    throw fieldError(`${path}.refreshToken`, 'is required for new OAuth settings');
  if (keepRefresh && !sameClient) throw fieldError(`${path}.refreshToken`, CLIENT_CHANGED);
  const keepSecret = oauth.clientSecret !== null && keepsPassword(oauth.clientSecret);
  const secretStored = stored !== null && stored.clientSecret !== null;
  if (keepSecret && secretStored && !sameClient) {
    throw fieldError(`${path}.clientSecret`, `${CLIENT_CHANGED} (null for a public client)`);
  }
  return {
    tokenUrl: oauth.tokenUrl,
    clientId: oauth.clientId,
    // Keeping a secret that was never stored keeps none: a public client.
    clientSecret: keepSecret ? (secretStored ? undefined : null) : (oauth.clientSecret ?? null),
    refreshToken: keepRefresh ? undefined : oauth.refreshToken,
    scope: oauth.scope ? oauth.scope : null,
  };
}

/**
 * One side of a body → repository input, checked against the stored side (null when the side is new).
 * `path` is the side's field path (`incoming`, `outgoing`) for the 400s.
 */
function toServiceAuthInput(
  path: string,
  side: CredentialsInputBody | null,
  stored: ServiceAuth | null,
): ServiceAuthInput | null {
  if (side === null) return null;
  const next: ServiceAuthInput = {
    server: side.server,
    port: side.port,
    authType: side.authType,
    username: side.username,
    password: keepsPassword(side.password) ? undefined : side.password,
    security: side.security ?? defaultSecurityForPort(side.port),
    acceptUnverifiedCert: side.acceptUnverifiedCert,
    caPem: side.caPem,
  };
  if (side.authType === 'oauth2') {
    const storedOAuth = stored?.oauth ?? null;
    // undefined keeps the stored settings, null removes them (the schema allows either only on oauth2).
    const oauth =
      side.oauth === undefined || side.oauth === null
        ? side.oauth
        : toOAuthInput(`${path}.oauth`, side.oauth, storedOAuth);
    if (oauth !== undefined) next.oauth = oauth;
    settleOAuthSecrets(`${path}.oauth.refreshToken`, stored, next);
  }
  checkKeptPassword(`${path}.password`, stored, next);
  return next;
}

/** Whether saving `oauth` (undefined keeps the stored settings) keeps the side's stored refresh token. */
function keepsRefreshToken(stored: ServiceAuth | null, oauth: OAuthInput | null | undefined): boolean {
  if (oauth === undefined) return (stored?.oauth ?? null) !== null;
  return oauth !== null && oauth.refreshToken === undefined;
}

/**
 * The refresh-token rules of an oauth2 side being saved (call before checkKeptPassword). A stored
 * refresh token mints access tokens that go to this side's server: like a stored password, it stays
 * with the server (and the trust) it was given for; `path` names the refresh token field in the
 * 400. A new grant sent without an access token drops the stored one (it belongs to the old grant):
 * the first check fetches a fresh one.
 */
export function settleOAuthSecrets(
  path: string,
  stored: ServiceAuth | null,
  next: ServiceAuthInput | null,
): void {
  if (next === null || next.authType !== 'oauth2') return;
  if (!keepsRefreshToken(stored, next.oauth)) {
    if (next.oauth && next.password === undefined) next.password = '';
    return;
  }
  const changed = stored === null ? null : redirectsStoredPassword(stored, next);
  if (changed !== null) {
    throw fieldError(
      path,
      `is required when ${changed} changes: a stored refresh token only gets access tokens for the server it was given for`,
    );
  }
}

/**
 * A validated native body → repository input. `existing` is the stored account on update (null on
 * create); throws a 400 naming the field when a secret is missing or would be redirected.
 */
export function toAccountInput(body: AccountInputBody, existing: EmailAccount | null): AccountInput {
  return {
    ...(existing === null ? {} : { emailAccountId: existing.emailAccountId }),
    emailAddress: body.emailAddress,
    associateId: body.associateId,
    incoming: toServiceAuthInput('incoming', body.incoming, existing?.incoming ?? null),
    outgoing: toServiceAuthInput('outgoing', body.outgoing, existing?.outgoing ?? null),
  };
}

/** An ad-hoc test side → probe target. */
export function toProbeTarget(
  protocol: Protocol,
  side: CredentialsInputBody & { password: string },
  emailAddress: string | undefined,
): ProbeTarget {
  return {
    protocol,
    host: side.server,
    port: side.port,
    security: side.security ?? defaultSecurityForPort(side.port),
    authType: side.authType,
    username: side.username,
    secret: side.password,
    acceptUnverifiedCert: side.acceptUnverifiedCert,
    ...(side.caPem === null ? {} : { caPem: side.caPem }),
    ...(emailAddress === undefined ? {} : { emailAddress }),
  };
}
