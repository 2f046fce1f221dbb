import {
  keepsPassword,
  PASSWORD_MASK,
  superOfficeOAuthFields,
  type EMailAccountJson,
  type ServiceAuthJson,
} from './superoffice-schema.js';
import { AccountDeletedError, AccountInputError, AccountNotFoundError, type FieldNamer } from './errors.js';
import type { OAuthInput } from './repository.js';
import { toOAuthInput } from './app-credentials.js';
import { isAppGrant } from './kept-secrets.js';
import type { AccountDraft, SideDraft } from './save-rules.js';
import type { EmailAccount, OAuthSettings, ServiceAuth } from './types.js';
import type { QuotaFacts } from '../probes/mailbox-facts.js';

/**
 * SuperOffice EMailAccount JSON (validated) → what the save service checks (src/accounts/save.ts).
 * AccountStatus, ErrorCount and ErrorReason are mailmon's own findings and are not taken from the
 * input. A masked or empty password or RefreshToken keeps the stored one; AcceptUnverifiedCert and
 * CaPem, which SuperOffice's shape lacks, are left to the service's rule when absent.
 */
export function toAccountDraft(account: EMailAccountJson): AccountDraft {
  return {
    emailAccountId: account.EMailAccountId,
    emailAddress: account.EMailAddress,
    associateId: account.AssociateId,
    incoming: toSideDraft(account.IncomingCredentials),
    outgoing: toSideDraft(account.OutgoingCredentials),
    // Only when DeliveryCheck is given: a client that knows nothing of the extension keeps the setting.
    ...(account.DeliveryCheck === undefined
      ? {}
      : { delivery: { enabled: account.DeliveryCheck, to: account.DeliveryTo ? account.DeliveryTo : null } }),
  };
}

function toSideDraft(auth: ServiceAuthJson | null): SideDraft | null {
  if (auth === null) return null;
  return {
    server: auth.Server,
    port: auth.Port,
    authType: auth.AuthType,
    username: auth.Username,
    password: keepsPassword(auth.Password) ? undefined : auth.Password,
    security: auth.Security,
    acceptUnverifiedCert: auth.AcceptUnverifiedCert,
    // "" (as a response shows no CA) and null remove it; absent is left to the service.
    caPem: auth.CaPem === undefined ? undefined : auth.CaPem || null,
    ...(auth.OAuth === undefined ? {} : { oauth: auth.OAuth === null ? null : toOAuthDraft(auth.OAuth) }),
  };
}

function toOAuthDraft(oauth: NonNullable<ServiceAuthJson['OAuth']>): OAuthInput {
  return toOAuthInput(superOfficeOAuthFields(oauth));
}

const SUPEROFFICE_NAMES: Readonly<Record<string, string>> = {
  emailAccountId: 'EMailAccountId',
  incoming: 'IncomingCredentials',
  outgoing: 'OutgoingCredentials',
  server: 'Server',
  port: 'Port',
  authType: 'AuthType',
  username: 'Username',
  password: 'Password',
  security: 'Security',
  acceptUnverifiedCert: 'AcceptUnverifiedCert',
  caPem: 'CaPem',
  oauth: 'OAuth',
  tokenUrl: 'TokenUrl',
  clientId: 'ClientId',
  clientSecret: 'ClientSecret',
  refreshToken: 'RefreshToken',
  scope: 'Scope',
  grant: 'Grant',
  privateKey: 'PrivateKey',
  certificate: 'Certificate',
  certThumbprint: 'CertThumbprint',
  serviceAccountKey: 'ServiceAccountKey',
  credentialExpiresAt: 'CredentialExpiresAt',
};

/** A neutral field name in SuperOffice's spelling (`incoming` → `IncomingCredentials`). */
export const superOfficeName: FieldNamer = (name) => SUPEROFFICE_NAMES[name] ?? name;

/** A save refusal in SuperOffice's words: the field (if any) and one sentence. */
export function describeRefusal(error: unknown): { field: string | null; message: string } | null {
  if (error instanceof AccountInputError)
    return { field: error.field(superOfficeName), message: error.problem(superOfficeName) };
  if (error instanceof AccountNotFoundError) return { field: null, message: error.message };
  if (error instanceof AccountDeletedError)
    return { field: null, message: `${error.message}; save it with EMailAccountId 0` };
  return null;
}

function toOAuthJson(oauth: OAuthSettings): NonNullable<ServiceAuthJson['OAuth']> {
  return {
    TokenUrl: oauth.tokenUrl,
    ClientId: oauth.clientId,
    ClientSecret: oauth.clientSecret === null ? '' : PASSWORD_MASK,
    RefreshToken: isAppGrant(oauth) ? '' : PASSWORD_MASK,
    Scope: oauth.scope ?? '',
    // The app-only extension appears only on app-only sides, so a refresh-token side keeps its shape.
    Grant: oauth.grant ?? 'refresh_token',
    ...(isAppGrant(oauth)
      ? {
          PrivateKey: (oauth.privateKey ?? null) === null ? '' : PASSWORD_MASK,
          ...(oauth.certThumbprint ? { CertThumbprint: oauth.certThumbprint } : {}),
          ...(oauth.credentialExpiresAt
            ? { CredentialExpiresAt: oauth.credentialExpiresAt.toISOString() }
            : {}),
        }
      : {}),
  };
}

/** A stored account as SuperOffice EMailAccount JSON; passwords and OAuth secrets always masked. */
export function toEMailAccountJson(account: EmailAccount, quota?: QuotaFacts): EMailAccountJson {
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
    // mailmon's extensions appear only when set, so SuperOffice's shape stays as it is.
    ...(quota
      ? {
          MailboxQuota: {
            UsedBytes: quota.storageUsedBytes,
            LimitBytes: quota.storageLimitBytes,
            Messages: quota.messages,
            MessageLimit: quota.messageLimit,
            UsageRatio: quota.usageRatio,
          },
        }
      : {}),
    ...(account.delivery?.enabled
      ? { DeliveryCheck: true, ...(account.delivery.to ? { DeliveryTo: account.delivery.to } : {}) }
      : {}),
  };
}
