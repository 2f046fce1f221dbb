// OAuth2 sides: before a probe, make sure the stored access token is usable. When it is missing or
// about to expire, refresh it at the token endpoint (within the side's deadline) and store the new
// token back, encrypted, with a compare-and-set so a newer token stored meanwhile is kept.
import type { AccountRepository } from '../accounts/repository.js';
import type { EmailAccount, OAuthSettings, ServiceAuth } from '../accounts/types.js';
import type { Logger } from '../logging/logger.js';
import { startDeadline } from '../probes/deadline.js';
import { ProbeError, toError, type FailureCode } from '../probes/errors.js';
import { refreshAccessToken, type OAuth2Deps } from '../probes/oauth2.js';
import type { Protocol } from '../probes/types.js';

/** A token that expires within this many ms is refreshed before the probe instead of used. */
export const REFRESH_MARGIN_MS = 60_000;

export type RefreshReason = 'no_token' | 'expiring' | 'rejected';

type RefreshableAuth = ServiceAuth & { oauth: OAuthSettings };

function refreshable(auth: ServiceAuth | null): auth is RefreshableAuth {
  return auth !== null && auth.authType === 'oauth2' && Boolean(auth.oauth);
}

/**
 * Why `auth`'s access token must be refreshed before probing, or null when it is used as stored.
 * `lastCode` is the code of that side's last check (null when it passed, undefined when unknown).
 */
export function refreshReason(
  auth: ServiceAuth,
  now: Date,
  lastCode: FailureCode | null | undefined,
): RefreshReason | null {
  if (!refreshable(auth)) return null;
  if (auth.password === '') return 'no_token';
  const expiresAt = auth.oauth.accessExpiresAt;
  if (expiresAt !== null && expiresAt.getTime() - now.getTime() <= REFRESH_MARGIN_MS) return 'expiring';
  // A token of unknown expiry (given by hand, or from an endpoint that does not say) is used until
  // refused; so is one revoked before its expiry. Refused at the last check: get a new one.
  return lastCode === 'auth_rejected' ? 'rejected' : null;
}

/**
 * The last check's code per side, read only when some side's decision may depend on it (a
 * refreshable side that has a token); an empty map otherwise.
 */
export async function lastCodesIfNeeded(
  repo: Pick<AccountRepository, 'lastChecks'>,
  account: EmailAccount,
): Promise<Map<Protocol, FailureCode | null>> {
  const needed = [account.incoming, account.outgoing].some(
    (auth) => refreshable(auth) && auth.password !== '',
  );
  if (!needed) return new Map();
  const checks = await repo.lastChecks(account.emailAccountId);
  return new Map(checks.map((c) => [c.side, c.code]));
}

export interface TokenRefreshDeps {
  repo: Pick<AccountRepository, 'storeOAuthToken'>;
  logger: Logger;
  clock: () => Date;
  /** Passed to refreshAccessToken (egress check, clock). */
  oauth2?: OAuth2Deps;
  /** Called once per request sent to the token endpoint, with its outcome. */
  onRequest?: (result: 'ok' | FailureCode) => void;
}

export interface TokenRefreshRequest {
  accountId: number;
  side: Protocol;
  auth: ServiceAuth;
  reason: RefreshReason;
  signal: AbortSignal;
  /** The refresh's share of the side's deadline, ms. */
  timeoutMs: number;
}

/**
 * Refreshes the side's access token and stores it back. Resolves to the side with the new token;
 * rejects with a ProbeError only (a token-endpoint code from token-errors.ts or 'config_invalid', no secret in its
 * message). Failing to store is logged, not fatal: the fresh token still serves this check.
 */
export async function refreshSideToken(
  request: TokenRefreshRequest,
  deps: TokenRefreshDeps,
): Promise<ServiceAuth> {
  const { accountId, side, auth, reason } = request;
  if (!refreshable(auth)) {
    throw new ProbeError('config_invalid', 'auth', 'no OAuth2 refresh settings are stored for this side');
  }
  const { oauth } = auth;
  const deadline = startDeadline(request.timeoutMs, request.signal, () => performance.now());
  let token;
  try {
    token = await refreshAccessToken(
      {
        tokenUrl: oauth.tokenUrl,
        clientId: oauth.clientId,
        refreshToken: oauth.refreshToken,
        ...(oauth.clientSecret ? { clientSecret: oauth.clientSecret } : {}),
        ...(oauth.scope ? { scope: oauth.scope } : {}),
      },
      deadline.signal,
      { now: deps.clock, ...deps.oauth2 },
    );
    deps.onRequest?.('ok');
  } catch (thrown) {
    const error = toError(thrown);
    const failure =
      error instanceof ProbeError
        ? error
        : new ProbeError('oauth_endpoint_unreachable', 'auth', 'token refresh failed unexpectedly', {
            cause: error,
          });
    deps.onRequest?.(failure.code);
    throw failure;
  } finally {
    deadline.dispose();
  }

  const expiresAt = token.expiresAt ?? null;
  const context = { accountId, side, reason, rotated: token.refreshToken !== undefined, expiresAt };
  try {
    const stored = await deps.repo.storeOAuthToken(auth.serviceAuthId, {
      previous: { accessToken: auth.password, refreshToken: oauth.refreshToken },
      accessToken: token.accessToken,
      expiresAt,
      ...(token.refreshToken === undefined ? {} : { refreshToken: token.refreshToken }),
    });
    deps.logger.info(
      { ...context, stored },
      stored
        ? `account ${accountId} ${side}: OAuth2 access token refreshed`
        : `account ${accountId} ${side}: OAuth2 access token refreshed; a newer stored token was kept`,
    );
  } catch (thrown) {
    // Names only: a database or decryption error carries no secret, but keep the log line minimal.
    const error = toError(thrown);
    deps.logger.warn(
      { ...context, error: error.name, code: (error as { code?: unknown }).code },
      `account ${accountId} ${side}: refreshed OAuth2 token could not be stored`,
    );
  }
  return {
    ...auth,
    password: token.accessToken,
    oauth: {
      ...oauth,
      refreshToken: token.refreshToken ?? oauth.refreshToken,
      accessExpiresAt: expiresAt,
    },
  };
}
