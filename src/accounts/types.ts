import type { FailureCode } from '../probes/errors.js';
import type { AuthType, Protocol, Security } from '../probes/types.js';

/** SuperOffice's EmailAccountStatus enum, verbatim. */
export enum AccountStatus {
  Unknown = 0,
  Deleted = 1,
  Failing = 2,
  Failed = 3,
  Ok = 4,
}

export const ACCOUNT_STATUS_NAMES: Record<AccountStatus, string> = {
  [AccountStatus.Unknown]: 'Unknown',
  [AccountStatus.Deleted]: 'Deleted',
  [AccountStatus.Failing]: 'Failing',
  [AccountStatus.Failed]: 'Failed',
  [AccountStatus.Ok]: 'Ok',
};

/** SuperOffice's ServiceAuth (`service_auth` row), with mailmon's TLS extensions. */
export interface ServiceAuth {
  serviceAuthId: number;
  server: string;
  port: number;
  authType: AuthType;
  username: string;
  /** Clear text after decryption; only the repository's secret-reading methods fill it. */
  password: string;
  security: Security;
  acceptUnverifiedCert: boolean;
  /** Extra trusted CA (PEM) for this server, besides the system CAs. */
  caPem: string | null;
  /** OAuth2 refresh settings of an 'oauth2' side (`password` holds the access token); null or absent = none. */
  oauth?: OAuthSettings | null;
}

/**
 * How an 'oauth2' side gets its access token: refresh_token (a per-mailbox grant a person
 * consented to, RFC 6749 section 6), or app-only: client_credentials (Microsoft 365: the tenant's
 * app with a client secret or a certificate) and jwt_bearer (a Google service account with
 * domain-wide delegation, acting as the side's username).
 */
export const OAUTH_GRANTS = ['refresh_token', 'client_credentials', 'jwt_bearer'] as const;
export type OAuthGrant = (typeof OAUTH_GRANTS)[number];

/**
 * An 'oauth2' side's token settings. Secrets are clear text only from the repository's
 * secret-reading methods; otherwise they read as '' (null stays null: none stored).
 */
export interface OAuthSettings {
  /** Absent (settings built before app-only grants) = 'refresh_token'. */
  grant?: OAuthGrant;
  tokenUrl: string;
  /** The app's client id; a Google service account's client_email. */
  clientId: string;
  /** null for a public client (no secret stored), and for a certificate or service-account key. */
  clientSecret: string | null;
  /** '' for the app-only grants, which have none. */
  refreshToken: string;
  /**
   * The private key (PEM) that signs the assertion: a client_credentials certificate's, or the
   * service account's (from its JSON key). null = none. Absent = none (older settings).
   */
  privateKey?: string | null;
  /** The certificate's x5t (base64url SHA-1 thumbprint), client_credentials with a certificate. */
  certThumbprint?: string | null;
  /** When the credential stops working: a certificate's notAfter, a client secret's configured expiry. */
  credentialExpiresAt?: Date | null;
  /** Space-separated scopes sent with the request; null = none (refresh_token only). */
  scope: string | null;
  /** When the stored access token expires; null = unknown. */
  accessExpiresAt: Date | null;
}

/** SuperOffice's EMailAccount (`email_account` row) plus monitoring timestamps. */
export interface EmailAccount {
  emailAccountId: number;
  emailAddress: string;
  associateId: number;
  incoming: ServiceAuth | null;
  outgoing: ServiceAuth | null;
  accountStatus: AccountStatus;
  errorCount: number;
  errorReason: string;
  registered: Date;
  updated: Date;
  lastCheckAt: Date | null;
  lastSuccessAt: Date | null;
  nextDueAt: Date | null;
  /** The delivery round trip setting (absent = off, e.g. an account built outside the repository). */
  delivery?: DeliverySetting;
  /** Lockout-safe checks (issue 11); absent = none (an account built outside the repository). */
  authBackoff?: AuthBackoff;
}

/** Credential failures in a row: while `failures` > 0 the account's checks back off (checks/next-due.ts). */
export interface AuthBackoff {
  failures: number;
  /** The latest credential failure (e.g. auth_rejected), null when not backing off. */
  code: FailureCode | null;
}

/** Per-account opt-in to the delivery round trip (a probe message through its own SMTP side). */
export interface DeliverySetting {
  enabled: boolean;
  /** Where the probe message goes: an address that delivers into this account's mailbox; null = its own address. */
  to: string | null;
}

export type Side = Protocol;
