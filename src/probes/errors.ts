/**
 * The one catalogue of probe failure codes. Every probe failure maps to exactly one of these; the
 * set is closed so it can be a Prometheus label value (`mailmon_checks_total{code}`) without
 * unbounded cardinality.
 */
export const FAILURE_CODES = [
  'dns_not_found', // the server's host name does not resolve
  'egress_denied', // the egress policy refused the resolved address or port
  'connection_refused',
  'connect_timeout', // TCP connect did not complete in time
  'greeting_timeout', // TCP accepted, but the server said nothing
  'connection_closed', // the server closed the connection unexpectedly
  'network_error', // other socket errors (reset, unreachable)
  'tls_handshake_failed', // TLS failed for a reason other than the certificate (garbage, protocol)
  'tls_cert_expired',
  'tls_cert_self_signed',
  'tls_cert_name_mismatch',
  'tls_cert_untrusted', // chain does not lead to a trusted CA
  'starttls_unavailable', // STARTTLS required but not offered
  'greeting_rejected', // SMTP 4xx/5xx greeting (e.g. 421), IMAP BYE at greeting
  'ehlo_rejected',
  'auth_rejected', // credentials refused by the server
  'auth_mechanism_unsupported',
  'oauth_token_refresh_failed',
  'mailbox_unavailable', // mailbox not found or not selectable
  'send_rejected', // SMTP test send refused at MAIL FROM / RCPT TO / DATA
  'protocol_error', // the server said something we could not parse
  'deadline_exceeded', // the check's overall deadline ran out
  'config_invalid', // the stored account cannot be probed as configured
  'internal_error', // a bug in mailmon; the cause is logged
  // Replicas (issue 10):
  'check_abandoned', // the account's claims kept dying without a result (a replica crashed on it)
  // Mailbox health (issue 12): quota and the delivery round trip. The two warnings ride on a
  // result that stays ok (ProbeResult.warning); the other two are failures.
  'quota_nearly_full', // warning: the mailbox is at or above probes.quotaWarningPercent of its quota
  'quota_exceeded', // the mailbox is full: at or over 100 % of its quota, or the server said OVERQUOTA
  'delivery_junk', // warning: the delivery probe message arrived, but in the Junk folder
  'delivery_lost', // the delivery probe message did not arrive within delivery.lostAfterSeconds
  // Lockout-safe auth (issue 11): what the server said about the credentials, so the fix is named.
  'basic_auth_disabled', // the provider no longer accepts a password here (Microsoft 5.7.139/5.7.30, Google 5.7.9/5.7.14): move to OAuth
  'account_locked', // the server says the account is locked, disabled or suspended: an admin unlocks it
  'password_expired', // the server says the password expired (IMAP [EXPIRED]): the user renews it
  'ip_banned', // the host refused our logins and now refuses or drops our connections: mailmon's IP looks banned
  // App-only OAuth2 (issue 11): what the token endpoint answered, for every grant (refresh token too).
  'oauth_consent_missing', // the app is not consented / not authorized for this mailbox (AADSTS65001, AADSTS50105, unauthorized_client)
  'oauth_client_invalid', // the client secret or certificate was refused: expired, wrong or not registered (invalid_client)
  'oauth_grant_invalid', // the grant was refused: refresh token revoked or expired, assertion refused (invalid_grant)
  'oauth_endpoint_unreachable', // the token endpoint did not answer usefully: network, timeout, 5xx, not a token answer
] as const;

export type FailureCode = (typeof FAILURE_CODES)[number];

/**
 * Failures that mean "the credentials need a person": retrying them on schedule only adds failed
 * logins (and lockouts, fail2ban bans), so after one of these the account's checks back off
 * (checks/next-due.ts) until its credentials are saved again or someone tests it by hand.
 * Network and TLS failures are not here: they keep the normal interval.
 */
export const CREDENTIAL_FAILURES: ReadonlySet<FailureCode> = new Set<FailureCode>([
  'auth_rejected',
  // Lockout-safe auth (issue 11)
  'basic_auth_disabled',
  'account_locked',
  'password_expired',
  'ip_banned',
  // App-only OAuth2 (issue 11): the token endpoint refused the app, its secret or the grant.
  'oauth_token_refresh_failed',
  'oauth_consent_missing',
  'oauth_client_invalid',
  'oauth_grant_invalid',
]);

/** True when `code` is a failure that only a person can fix (see CREDENTIAL_FAILURES). */
export function isCredentialFailure(code: FailureCode | null | undefined): boolean {
  return code != null && CREDENTIAL_FAILURES.has(code);
}

/** Phases a probe walks through, in order; a failure names the phase it happened in. */
export const PHASES = [
  'dns',
  'connect',
  'tls',
  'greeting',
  'capability',
  'ehlo',
  'starttls',
  'auth',
  'mailbox',
  'mail-from',
  'rcpt',
  'data',
  'logout',
  'quit',
] as const;

export type Phase = (typeof PHASES)[number];

export interface ServerResponse {
  /** e.g. "535 5.7.8" or "AUTHENTICATIONFAILED"; already redacted. */
  code?: string;
  /** The server's text, redacted and truncated. */
  text?: string;
}

/** A classified probe failure. Keeps the library's original error as `cause`. */
export class ProbeError extends Error {
  readonly code: FailureCode;
  readonly phase: Phase;
  readonly response: ServerResponse | undefined;

  constructor(
    code: FailureCode,
    phase: Phase,
    message: string,
    options: { cause?: unknown; response?: ServerResponse } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProbeError';
    this.code = code;
    this.phase = phase;
    this.response = options.response;
  }
}

/** Coerce anything thrown into an Error without losing it. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : 'non-error thrown', { cause: thrown });
}
