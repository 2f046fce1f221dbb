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
 * How an 'oauth2' side gets a new access token (RFC 6749 refresh_token grant). Secrets are clear
 * text only from the repository's secret-reading methods; otherwise they read as ''.
 */
export interface OAuthSettings {
  tokenUrl: string;
  clientId: string;
  /** null for a public client (no secret stored). */
  clientSecret: string | null;
  refreshToken: string;
  /** Space-separated scopes sent with the refresh; null = none. */
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
