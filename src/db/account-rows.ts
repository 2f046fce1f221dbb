import type { ServiceAuthInput, SideCheck } from '../accounts/repository.js';
import {
  AccountStatus,
  type EmailAccount,
  type OAuthGrant,
  type OAuthSettings,
  type ServiceAuth,
} from '../accounts/types.js';
import type { FailureCode, Phase } from '../probes/errors.js';
import type { AuthType, Protocol, Security } from '../probes/types.js';

export interface ServiceAuthRow {
  service_auth_id: number;
  server: string;
  port: number;
  auth_type: string;
  username: string;
  password: string;
  security: string;
  accept_unverified_cert: number | boolean;
  ca_pem: string | null;
  registered: number | string;
  updated: number | string;
  oauth_token_url: string | null;
  oauth_client_id: string | null;
  oauth_client_secret: string | null;
  oauth_refresh_token: string | null;
  oauth_scope: string | null;
  oauth_access_expires_at: number | string | null;
  /** From migration 008. */
  oauth_grant?: string | null;
  oauth_private_key?: string | null;
  oauth_cert_thumbprint?: string | null;
  oauth_credential_expires_at?: number | string | null;
}

export interface EmailAccountRow {
  email_account_id: number;
  email_address: string;
  associate_id: number;
  incoming_auth: number | null;
  outgoing_auth: number | null;
  account_status: number;
  error_count: number;
  error_reason: string;
  registered: number | string;
  updated: number | string;
  last_check_at: number | string | null;
  last_success_at: number | string | null;
  next_due_at: number | string | null;
  lease_owner?: string | null;
  lease_token?: string | null;
  claim_attempts?: number;
  edit_version?: number;
  /** From migration 006. */
  delivery_check?: number | boolean;
  delivery_to?: string | null;
  /** From migration 007. */
  auth_failures?: number;
  auth_backoff_code?: string | null;
}

export interface LastCheckRow {
  email_account_id: number;
  side: string;
  checked_at: number | string;
  ok: number | boolean;
  code: string | null;
  phase: string | null;
  reason: string | null;
  duration_ms: number;
  last_success_at: number | string | null;
  /** Absent on check_result rows. */
  tls_not_after?: number | string | null;
  details: string | null;
}

/** BIGINT columns may come back as strings (mysql2 with big numbers); times are epoch ms. */
export function toDate(value: number | string | null): Date | null {
  return value === null ? null : new Date(Number(value));
}

/** The encrypted columns of service_auth; each ciphertext is bound to its row and column. */
export const SECRET_COLUMNS = [
  'password',
  'oauth_client_secret',
  'oauth_refresh_token',
  'oauth_private_key',
] as const;
export type SecretColumn = (typeof SECRET_COLUMNS)[number];

export function secretAad(serviceAuthId: number, column: SecretColumn): string {
  return `service_auth:${serviceAuthId}:${column}`;
}

export function passwordAad(serviceAuthId: number): string {
  return secretAad(serviceAuthId, 'password');
}

/** `reveal` returns a secret column's clear text ('' when secrets are not being read). */
export function toServiceAuth(row: ServiceAuthRow, reveal: (column: SecretColumn) => string): ServiceAuth {
  const password = reveal('password');
  return {
    serviceAuthId: row.service_auth_id,
    server: row.server,
    port: row.port,
    authType: row.auth_type as AuthType,
    username: row.username,
    password,
    security: row.security as Security,
    acceptUnverifiedCert: Boolean(row.accept_unverified_cert),
    caPem: row.ca_pem,
    oauth: toOAuthSettings(row, reveal),
  };
}

function toOAuthSettings(
  row: ServiceAuthRow,
  reveal: (column: SecretColumn) => string,
): OAuthSettings | null {
  const grant = (row.oauth_grant ?? 'refresh_token') as OAuthGrant;
  if (row.oauth_token_url === null) return null;
  if (grant === 'refresh_token' && row.oauth_refresh_token === null) return null;
  return {
    grant,
    tokenUrl: row.oauth_token_url,
    clientId: row.oauth_client_id ?? '',
    clientSecret: row.oauth_client_secret === null ? null : reveal('oauth_client_secret'),
    refreshToken: row.oauth_refresh_token == null ? '' : reveal('oauth_refresh_token'),
    scope: row.oauth_scope,
    accessExpiresAt: toDate(row.oauth_access_expires_at),
    privateKey: row.oauth_private_key == null ? null : reveal('oauth_private_key'),
    certThumbprint: row.oauth_cert_thumbprint ?? null,
    credentialExpiresAt: toDate(row.oauth_credential_expires_at ?? null),
  };
}

const NO_OAUTH = {
  oauth_token_url: null,
  oauth_client_id: null,
  oauth_client_secret: null,
  oauth_refresh_token: null,
  oauth_scope: null,
  oauth_access_expires_at: null,
  oauth_grant: null,
  oauth_private_key: null,
  oauth_cert_thumbprint: null,
  oauth_credential_expires_at: null,
} satisfies Partial<ServiceAuthRow>;

/**
 * The oauth_* columns to write for `auth` on row `id`. A secret left undefined keeps the stored one:
 * whether it may be kept (is there one, is it still going to the same token endpoint) the save rules
 * decided (src/accounts/kept-secrets.ts).
 */
export function oauthColumns(
  auth: ServiceAuthInput,
  id: number,
  encrypt: (plaintext: string, aad: string) => string,
): Partial<ServiceAuthRow> {
  if (auth.authType !== 'oauth2' || auth.oauth === null) return NO_OAUTH;
  if (auth.oauth === undefined) return {};
  const { tokenUrl, clientId, clientSecret, refreshToken, scope, privateKey } = auth.oauth;
  const grant = auth.oauth.grant ?? 'refresh_token';
  const secret = (column: Exclude<SecretColumn, 'password'>, value: string | null | undefined) =>
    value === undefined ? {} : { [column]: value === null ? null : encrypt(value, secretAad(id, column)) };
  return {
    oauth_grant: grant === 'refresh_token' ? null : grant,
    oauth_token_url: tokenUrl,
    oauth_client_id: clientId,
    oauth_scope: scope,
    // The app-only grants have no refresh token: one left from a refresh_token grant is dropped.
    ...(grant === 'refresh_token'
      ? secret('oauth_refresh_token', refreshToken)
      : { oauth_refresh_token: null }),
    ...secret('oauth_client_secret', clientSecret),
    ...secret('oauth_private_key', grant === 'refresh_token' ? null : privateKey),
    oauth_cert_thumbprint: auth.oauth.certThumbprint ?? null,
    oauth_credential_expires_at: auth.oauth.credentialExpiresAt?.getTime() ?? null,
  };
}

export function toEmailAccount(
  row: EmailAccountRow,
  incoming: ServiceAuth | null,
  outgoing: ServiceAuth | null,
): EmailAccount {
  return {
    emailAccountId: row.email_account_id,
    emailAddress: row.email_address,
    associateId: row.associate_id,
    incoming,
    outgoing,
    accountStatus: row.account_status as AccountStatus,
    errorCount: row.error_count,
    errorReason: row.error_reason,
    registered: toDate(row.registered) as Date,
    updated: toDate(row.updated) as Date,
    lastCheckAt: toDate(row.last_check_at),
    lastSuccessAt: toDate(row.last_success_at),
    nextDueAt: toDate(row.next_due_at),
    delivery: { enabled: Boolean(row.delivery_check), to: row.delivery_to ?? null },
    authBackoff: {
      failures: Number(row.auth_failures ?? 0),
      code: (row.auth_backoff_code ?? null) as FailureCode | null,
    },
  };
}

export function toSideCheck(row: LastCheckRow): SideCheck {
  return {
    side: row.side as Protocol,
    checkedAt: toDate(row.checked_at) as Date,
    ok: Boolean(row.ok),
    code: row.code as FailureCode | null,
    phase: row.phase as Phase | null,
    reason: row.reason,
    durationMs: row.duration_ms,
    lastSuccessAt: toDate(row.last_success_at),
    tlsNotAfter: toDate(row.tls_not_after ?? null),
    details: row.details === null ? null : (JSON.parse(row.details) as SideCheck['details']),
  };
}

export const ALL_STATUSES: AccountStatus[] = [
  AccountStatus.Unknown,
  AccountStatus.Deleted,
  AccountStatus.Failing,
  AccountStatus.Failed,
  AccountStatus.Ok,
];
