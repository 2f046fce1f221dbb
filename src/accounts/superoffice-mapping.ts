import {
  keepsPassword,
  PASSWORD_MASK,
  type EMailAccountJson,
  type ServiceAuthJson,
} from './superoffice-schema.js';
import type { AccountInput, OAuthInput, ServiceAuthInput } from './repository.js';
import type { EmailAccount, OAuthSettings, ServiceAuth } from './types.js';

export class AccountInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'AccountInputError';
  }
}

/**
 * SuperOffice EMailAccount JSON (validated) → what the repository stores. AccountStatus, ErrorCount
 * and ErrorReason are mailmon's own findings and are not taken from the input. A masked or empty
 * password on an update keeps the stored one; a new account's credentials need a password (or, for
 * AuthType OAuth, a RefreshToken to get one with).
 */
export function toAccountInput(account: EMailAccountJson, path = ''): AccountInput {
  const creating = account.EMailAccountId === 0;
  const side = (auth: ServiceAuthJson | null, name: string): ServiceAuthInput | null => {
    if (auth === null) return null;
    const keep = keepsPassword(auth.Password);
    const refreshes = auth.AuthType === 'oauth2' && Boolean(auth.OAuth);
    if (keep && creating && !refreshes) {
      throw new AccountInputError(`${path}${name}.Password`, 'is required for new credentials');
    }
    const oauth = toOAuthInput(auth.OAuth, creating, `${path}${name}.OAuth`);
    return {
      server: auth.Server,
      port: auth.Port,
      authType: auth.AuthType,
      username: auth.Username,
      // A refreshing side may start without an access token: the first check fetches one.
      password: keep ? (creating ? '' : undefined) : auth.Password,
      security: auth.Security,
      acceptUnverifiedCert: auth.AcceptUnverifiedCert ?? false,
      caPem: auth.CaPem ? auth.CaPem : null,
      ...(oauth === undefined ? {} : { oauth }),
    };
  };
  return {
    emailAccountId: account.EMailAccountId,
    emailAddress: account.EMailAddress,
    associateId: account.AssociateId,
    incoming: side(account.IncomingCredentials, 'IncomingCredentials'),
    outgoing: side(account.OutgoingCredentials, 'OutgoingCredentials'),
  };
}

function toOAuthInput(
  oauth: ServiceAuthJson['OAuth'],
  creating: boolean,
  path: string,
): OAuthInput | null | undefined {
  if (oauth === undefined || oauth === null) return oauth;
  const keepRefresh = keepsPassword(oauth.RefreshToken);
  if (keepRefresh && creating) {
    throw new AccountInputError(`${path}.RefreshToken`, 'is required for new credentials');
  }
  return {
    tokenUrl: oauth.TokenUrl,
    clientId: oauth.ClientId,
    clientSecret:
      oauth.ClientSecret === PASSWORD_MASK
        ? undefined
        : oauth.ClientSecret === ''
          ? null
          : oauth.ClientSecret,
    refreshToken: keepRefresh ? undefined : oauth.RefreshToken,
    scope: oauth.Scope === '' ? null : oauth.Scope,
  };
}

function toOAuthJson(oauth: OAuthSettings): NonNullable<ServiceAuthJson['OAuth']> {
  return {
    TokenUrl: oauth.tokenUrl,
    ClientId: oauth.clientId,
    ClientSecret: oauth.clientSecret === null ? '' : PASSWORD_MASK,
    RefreshToken: PASSWORD_MASK,
    Scope: oauth.scope ?? '',
  };
}

/** A stored account as SuperOffice EMailAccount JSON; passwords and OAuth secrets always masked. */
export function toEMailAccountJson(account: EmailAccount): EMailAccountJson {
  const side = (auth: ServiceAuth | null): ServiceAuthJson | null =>
    auth === null
      ? null
      : {
          ServiceAuthId: auth.serviceAuthId,
          Server: auth.server,
          Port: auth.port,
          AuthType: auth.authType,
          Username: auth.username,
          Password: PASSWORD_MASK,
          Security: auth.security,
          // mailmon's trust extensions appear only when set, so SuperOffice's shape stays as it is.
          ...(auth.acceptUnverifiedCert ? { AcceptUnverifiedCert: true } : {}),
          ...(auth.caPem ? { CaPem: auth.caPem } : {}),
          ...(auth.oauth ? { OAuth: toOAuthJson(auth.oauth) } : {}),
        };
  return {
    EMailAccountId: account.emailAccountId,
    EMailAddress: account.emailAddress,
    AssociateId: account.associateId,
    IncomingCredentials: side(account.incoming),
    OutgoingCredentials: side(account.outgoing),
    AccountStatus: account.accountStatus,
    ErrorCount: account.errorCount,
    ErrorReason: account.errorReason,
  };
}
