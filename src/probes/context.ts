// What one check accumulates while it runs (transcript, phase timings, TLS facts, the deadline)
// and how it becomes a ProbeResult. Shared by the IMAP and SMTP probes.
import type { Socket } from 'node:net';
import { startDeadline, type Deadline } from './deadline.js';
import { ProbeError, type FailureCode, type Phase, type ServerResponse } from './errors.js';
import { createPhaseClock, type PhaseClock } from './phases.js';
import { createSecretScrubber, type Scrub } from '../security/redact.js';
import { scrubError } from './redact.js';
import { resolveAddress, systemResolve } from './resolve.js';
import { isTlsSocket, observeTlsSocket } from './tls.js';
import { createTranscript, type Transcript } from './transcript.js';
import type { ProbeOptions, ProbeResult, ProbeTarget, TlsFacts } from './types.js';

export const MAX_REASON_CHARS = 254;
const MAX_RESPONSE_TEXT_CHARS = 200;
const MAX_HOST_IN_REASON = 80;

const SUMMARY: Record<FailureCode, string> = {
  dns_not_found: 'host name not found',
  egress_denied: 'connection denied by egress policy',
  connection_refused: 'connection refused',
  connect_timeout: 'TCP connect timed out',
  greeting_timeout: 'no greeting from server',
  connection_closed: 'server closed the connection',
  network_error: 'network error',
  tls_handshake_failed: 'TLS handshake failed',
  tls_cert_expired: 'TLS handshake failed',
  tls_cert_self_signed: 'TLS handshake failed',
  tls_cert_name_mismatch: 'TLS handshake failed',
  tls_cert_untrusted: 'TLS handshake failed',
  starttls_unavailable: 'STARTTLS not available',
  greeting_rejected: 'greeting rejected',
  ehlo_rejected: 'EHLO rejected',
  auth_rejected: 'login rejected',
  auth_mechanism_unsupported: 'auth mechanism not supported',
  oauth_token_refresh_failed: 'OAuth2 token refresh failed',
  mailbox_unavailable: 'mailbox unavailable',
  send_rejected: 'test send rejected',
  protocol_error: 'protocol error',
  deadline_exceeded: 'check timed out',
  config_invalid: 'cannot be checked as configured',
  internal_error: 'internal error in mailmon',
  check_abandoned: 'check abandoned',
  quota_nearly_full: 'mailbox nearly full',
  quota_exceeded: 'mailbox full',
  delivery_junk: 'delivery probe filed as junk',
  delivery_lost: 'delivery probe lost',
  // Lockout-safe auth (issue 11): the reason names the fix.
  basic_auth_disabled: 'password login disabled by the provider (move the account to OAuth)',
  account_locked: 'account locked or disabled (an admin must unlock it)',
  password_expired: 'password expired (renew the password)',
  ip_banned: "mailmon's address looks banned after failed logins (ask the provider to unban it)",
  oauth_consent_missing: 'OAuth2 app not authorized for this mailbox',
  oauth_client_invalid: 'OAuth2 client secret or certificate refused',
  oauth_grant_invalid: 'OAuth2 grant refused',
  oauth_endpoint_unreachable: 'OAuth2 token endpoint unreachable',
};

/** "IMAP login rejected: AUTHENTICATIONFAILED (imap.example.com:993)", at most 254 characters. */
export function formatReason(target: ProbeTarget, code: FailureCode, detail: string): string {
  const host =
    target.host.length > MAX_HOST_IN_REASON
      ? `${target.host.slice(0, MAX_HOST_IN_REASON - 1)}…`
      : target.host;
  const head = `${target.protocol.toUpperCase()} ${SUMMARY[code]}`;
  const tail = ` (${host}:${target.port})`;
  const room = MAX_REASON_CHARS - head.length - tail.length - 2;
  const cleaned = detail.replace(/\s+/g, ' ').trim();
  const body = cleaned.length > room ? `${cleaned.slice(0, room - 1)}…` : cleaned;
  return body ? `${head}: ${body}${tail}` : `${head}${tail}`;
}

export interface CheckContext {
  readonly target: ProbeTarget;
  readonly transcript: Transcript;
  readonly phases: PhaseClock;
  readonly deadline: Deadline;
  readonly scrub: Scrub;
  /** The address connected to, once resolved. */
  address: string | undefined;
  /** Facts of the last TLS handshake (implicit TLS or STARTTLS). */
  tls: TlsFacts | undefined;
  /** The dns phase within the deadline: sets `address`, then the clock is in the connect phase. */
  resolveHost(): Promise<void>;
  /** Hand every socket the library creates to this (see watchSocketProperty). */
  observeSocket(socket: unknown): void;
  /** Whether a complete server line has arrived (the greeting). */
  greeted(): boolean;
  succeed(): ProbeResult;
  fail(error: ProbeError): ProbeResult;
  dispose(): void;
}

export function createCheckContext(
  target: ProbeTarget,
  options: ProbeOptions,
  now: () => number,
): CheckContext {
  const scrub = createSecretScrubber([target.secret]);
  const phases = createPhaseClock(now, 'dns');
  const transcript = createTranscript(target.protocol, scrub, () => phases.elapsed());
  const deadline = startDeadline(options.timeoutMs, options.signal, now);

  const base = (): Omit<ProbeResult, 'ok' | 'code' | 'phase' | 'reason'> => ({
    protocol: target.protocol,
    durationMs: Math.round(phases.elapsed()),
    phases: phases.timings(),
    transcript: transcript.lines(),
    ...(ctx.tls ? { tls: { ...ctx.tls, subjectAltNames: [...ctx.tls.subjectAltNames] } } : {}),
    ...(ctx.address ? { address: ctx.address } : {}),
  });

  const observeSocket = (socket: unknown): void => {
    const implicit = phases.current() === 'connect';
    if (implicit) {
      (socket as Socket).once('connect', () => {
        transcript.note(`connected to ${ctx.address ?? '?'}:${target.port}`);
        phases.enter(isTlsSocket(socket) ? 'tls' : 'greeting');
      });
    } else if (isTlsSocket(socket)) {
      phases.enter('tls'); // STARTTLS: the handshake starts now
    }
    if (!isTlsSocket(socket)) return;
    observeTlsSocket(
      socket,
      (facts) => (ctx.tls = facts),
      () => {
        const t = ctx.tls;
        transcript.note(
          `TLS ${t?.protocol ?? '?'} ${t?.cipher ?? '?'}, certificate ${t?.authorized ? 'verified' : `NOT verified (${t?.authorizationError ?? 'unknown'})`}`,
        );
        if (implicit) phases.enter('greeting');
      },
    );
  };

  const ctx: CheckContext = {
    target,
    transcript,
    phases,
    deadline,
    scrub,
    address: undefined,
    tls: undefined,
    async resolveHost() {
      const resolve = options.resolve ?? systemResolve;
      ctx.address = await deadline.race(resolveAddress(resolve, target.host, target.port, deadline.signal));
      phases.enter('connect');
    },
    observeSocket,
    greeted: () => transcript.serverLineCount() > 0,
    succeed: () => ({ ...base(), ok: true, code: null, phase: null, reason: null }),
    fail: (error) => ({ ...base(), ...failureFields(target, error, scrub) }),
    dispose: () => deadline.dispose(),
  };
  return ctx;
}

function cleanResponse(response: ServerResponse | undefined, scrub: Scrub): ServerResponse | undefined {
  if (!response) return undefined;
  const out: ServerResponse = {};
  if (response.code) out.code = scrub(response.code).slice(0, 40);
  if (response.text) {
    const text = scrub(response.text).replace(/\s+/g, ' ').trim();
    out.text =
      text.length > MAX_RESPONSE_TEXT_CHARS ? `${text.slice(0, MAX_RESPONSE_TEXT_CHARS - 1)}…` : text;
  }
  return out.code || out.text ? out : undefined;
}

/** The failure for a deadline (`cause`, a DeadlineError) that ended the check in `phase`. */
export function deadlineFailure(
  ctx: CheckContext,
  phase: Phase,
  receivedBytes: number | undefined,
  cause: unknown,
): ProbeError {
  const ms = ctx.deadline.timeoutMs;
  const failure = (code: FailureCode, message: string): ProbeError =>
    new ProbeError(code, phase, message, { cause });
  if (ctx.deadline.ended() === 'aborted')
    return failure('deadline_exceeded', `check aborted during ${phase}`);
  if (phase === 'connect') return failure('connect_timeout', `no TCP connection within ${ms} ms`);
  if (phase === 'greeting' && !ctx.greeted()) {
    const detail = receivedBytes
      ? `only ${receivedBytes} bytes of a greeting within ${ms} ms`
      : `server accepted the connection but sent nothing within ${ms} ms`;
    return failure('greeting_timeout', detail);
  }
  return failure('deadline_exceeded', `${ms} ms deadline passed during ${phase}`);
}

/**
 * A ProbeResult for a failure that happened outside a probe run (e.g. an OAuth2 refresh that failed
 * before the check could start): no transcript, no phases. `error.message` is the reason's detail;
 * the cause is scrubbed of the target's secret.
 */
export function failureResult(target: ProbeTarget, error: ProbeError, durationMs = 0): ProbeResult {
  return {
    protocol: target.protocol,
    ...failureFields(target, error, createSecretScrubber([target.secret])),
    durationMs: Math.round(durationMs),
    phases: [],
    transcript: [],
  };
}

/** What a failed ProbeResult says about `error`: code, phase, reason, response and cause, scrubbed. */
function failureFields(
  target: ProbeTarget,
  error: ProbeError,
  scrub: Scrub,
): Pick<ProbeResult, 'ok' | 'code' | 'phase' | 'reason' | 'response' | 'cause'> {
  const response = cleanResponse(error.response, scrub);
  return {
    ok: false,
    code: error.code,
    phase: error.phase,
    reason: scrub(formatReason(target, error.code, scrub(error.message))),
    ...(response ? { response } : {}),
    cause: scrubError(error.cause instanceof Error ? error.cause : error, scrub),
  };
}

/**
 * Runs a probe body and turns anything it throws (a bug: bodies classify their own failures) into
 * an internal_error result, so Probe.run() never throws.
 */
export async function guardRun(target: ProbeTarget, body: () => Promise<ProbeResult>): Promise<ProbeResult> {
  try {
    return await body();
  } catch (thrown) {
    const detail = 'the probe failed unexpectedly; see the log';
    return failureResult(target, new ProbeError('internal_error', 'dns', detail, { cause: thrown }));
  }
}
