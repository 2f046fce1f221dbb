import type { FailureCode, Phase, ServerResponse } from './errors.js';
import type { DeliveryFacts, QuotaFacts } from './mailbox-facts.js';

export type { DeliveryFacts, DeliveryOutcome, QuotaFacts } from './mailbox-facts.js';

export type Protocol = 'imap' | 'smtp';

/** How the connection is secured: implicit TLS, plain then STARTTLS, or plain text. */
export type Security = 'tls' | 'starttls' | 'none';

/**
 * Authentication method. `password` lets the probe pick (IMAP LOGIN/AUTH PLAIN, SMTP PLAIN/LOGIN);
 * the others force a mechanism. `oauth2` means XOAUTH2/OAUTHBEARER with an access token.
 */
export type AuthType = 'password' | 'plain' | 'login' | 'cram-md5' | 'oauth2';

export const AUTH_TYPES: readonly AuthType[] = ['password', 'plain', 'login', 'cram-md5', 'oauth2'];
export const SECURITIES: readonly Security[] = ['tls', 'starttls', 'none'];

/** Everything one probe needs to test one side (IMAP or SMTP) of an account. */
export interface ProbeTarget {
  protocol: Protocol;
  host: string;
  port: number;
  security: Security;
  authType: AuthType;
  username: string;
  /** The password or access token, in clear. Never log this object whole. */
  secret: string;
  /** Accept a certificate that does not verify. Off by default. */
  acceptUnverifiedCert: boolean;
  /** Extra trusted CA (PEM) for this server, besides the system CAs. */
  caPem?: string;
  /** IMAP only: mailbox to open (default INBOX). */
  mailbox?: string;
  /** The account's e-mail address (SMTP test send uses it as the sender). */
  emailAddress?: string;
  /**
   * SMTP only, off when absent: after AUTH, send one short, clearly marked message from
   * `emailAddress` to `to` (phases mail-from, rcpt, data). Needs `emailAddress`.
   */
  testSend?: {
    to: string;
    /**
     * A delivery round trip's token: the message then carries it in an X-Mailmon-Probe header
     * (what the IMAP side looks for) and says it is a delivery probe. Absent: the plain test send.
     */
    probeTag?: string;
  };
}

export interface PhaseTiming {
  phase: Phase;
  ms: number;
}

export interface TlsFacts {
  protocol: string | null;
  cipher: string | null;
  subject: string | null;
  issuer: string | null;
  subjectAltNames: string[];
  validFrom: string | null;
  /** ISO-8601 */
  notAfter: string | null;
  authorized: boolean;
  authorizationError: string | null;
}

export interface TranscriptLine {
  /** milliseconds since the probe started */
  t: number;
  dir: 'C' | 'S' | '*';
  line: string;
}

export interface ProbeResult {
  protocol: Protocol;
  ok: boolean;
  /** null when ok */
  code: FailureCode | null;
  phase: Phase | null;
  /** A short sentence for ErrorReason, no secrets; null when ok. */
  reason: string | null;
  response?: ServerResponse;
  durationMs: number;
  phases: PhaseTiming[];
  tls?: TlsFacts;
  /** Redacted protocol transcript. */
  transcript: TranscriptLine[];
  /** The IP address the probe connected to (absent when it failed before or at DNS). */
  address?: string;
  /** The original error, for logs (redacted before logging); never serialised to clients. */
  cause?: Error;
  /** IMAP: the mailbox's quota root, when the server advertises QUOTA and reported one. */
  quota?: QuotaFacts;
  /** SMTP: the delivery round trip, when one ran with this check. */
  delivery?: DeliveryFacts;
  /**
   * Set on an ok result only: something an operator should know although the account works (a
   * nearly full mailbox, a probe message filed as junk). Its reason becomes ErrorReason; the status stays Ok.
   */
  warning?: ProbeWarning;
}

export interface ProbeWarning {
  code: FailureCode;
  /** A short sentence like a failure's reason, no secrets. */
  reason: string;
}

export interface ProbeOptions {
  /** Aborts the probe; the probe must release its socket and timers promptly. */
  signal: AbortSignal;
  /** Overall budget for the whole check in ms (DNS, TCP, TLS, greeting, auth share it). */
  timeoutMs: number;
  /**
   * Turns the target's host into the one IP address to connect to (the egress policy plugs in
   * here). The probe connects to that address while TLS SNI and the certificate name check use
   * the host name, so there is no second lookup. Throw a ProbeError (e.g. 'egress_denied', phase
   * 'dns') to refuse; it is reported as is. Default: dns.lookup (IP literals pass through).
   */
  resolve?: Resolver;
}

/** See ProbeOptions.resolve. Must settle (or reject) promptly once `signal` aborts. */
export type Resolver = (host: string, port: number, signal: AbortSignal) => Promise<string>;

/** One interface for every probe, so probe depth can grow without touching the scheduler. */
export interface Probe {
  readonly protocol: Protocol;
  run(target: ProbeTarget, options: ProbeOptions): Promise<ProbeResult>;
}
