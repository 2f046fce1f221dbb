// imapflow's errors → the failure catalogue. Pure: what failed is read off the error, the phase
// the check was in and what the server advertised.
import { imapAuthVerdict } from './auth-verdict.js';
import { deadlineFailure, type CheckContext } from './context.js';
import { DeadlineError } from './deadline.js';
import { ProbeError, toError, type Phase } from './errors.js';
import { classifyNetworkError } from './network-errors.js';
import { certFailureCode, describeCertProblem, isTlsLayerError } from './tls.js';

/** The fields imapflow puts on its errors (all optional; any error may arrive). */
interface ImapflowError extends Error {
  code?: string;
  /** Server text of a failed command (string) or the parsed response. */
  response?: unknown;
  responseText?: string;
  responseStatus?: string;
  serverResponseCode?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  /** The BYE text when the server said goodbye. */
  reason?: string;
}

export interface ImapFailureInfo {
  /** What the server advertised (CAPABILITY), if the session got that far. */
  capabilities: Set<string> | undefined;
  /** Bytes read from the server (for "only N bytes of a greeting"). */
  receivedBytes: number | undefined;
}

const CLOSED_CODES = new Set([
  'ClosedAfterConnectText',
  'ClosedAfterConnectTLS',
  'NoConnection',
  'EConnectionClosed',
]);
const PROTOCOL_CODES = new Set([
  'InvalidResponse',
  'UnexpectedTag',
  'LineTooLarge',
  'LiteralTooLarge',
  'ResponseTooLarge',
]);

/** The server's text without Dovecot's timing suffix ("(0.001 + 0.000 secs)."). */
function serverText(err: ImapflowError): string | undefined {
  const raw =
    typeof err.responseText === 'string' && err.responseText
      ? err.responseText
      : typeof err.response === 'string' && err.response
        ? err.response
        : undefined;
  return raw?.replace(/\s*\(\d+\.\d+(?: \+ \d+\.\d+)* secs\)/, '');
}

function mechanismFor(authType: string, capabilities: Set<string> | undefined): string | undefined {
  if (authType === 'plain') return 'AUTH=PLAIN';
  if (authType === 'oauth2') {
    const has = (m: string): boolean => capabilities?.has(m) === true;
    return has('AUTH=OAUTHBEARER') || has('AUTH=XOAUTH2') || has('AUTH=XOAUTH')
      ? undefined
      : 'AUTH=XOAUTH2 or AUTH=OAUTHBEARER';
  }
  return undefined;
}

function advertisedAuth(capabilities: Set<string> | undefined): string {
  const mechs = [...(capabilities ?? [])].filter((c) => c.startsWith('AUTH=')).map((c) => c.slice(5));
  return mechs.length > 0 ? mechs.join(' ') : 'none';
}

function authFailure(err: ImapflowError, ctx: CheckContext, info: ImapFailureInfo): ProbeError {
  const wanted = mechanismFor(ctx.target.authType, info.capabilities);
  const text = serverText(err);
  if (
    err.message === 'Unsupported authentication mechanism' ||
    err.message === 'Login is disabled' ||
    (wanted !== undefined && info.capabilities !== undefined && !info.capabilities.has(wanted))
  ) {
    const need =
      wanted ??
      (err.message === 'Login is disabled' ? 'LOGIN (server says LOGINDISABLED)' : ctx.target.authType);
    return new ProbeError(
      'auth_mechanism_unsupported',
      'auth',
      `${need} not offered (server offers ${advertisedAuth(info.capabilities)})`,
      {
        cause: err,
        response: text ? { text } : undefined,
      },
    );
  }
  const code = err.serverResponseCode ?? err.responseStatus;
  const verdict = imapAuthVerdict({ code: err.serverResponseCode, text });
  const said = verdict === 'auth_rejected' ? undefined : [code, text].filter(Boolean).join(' ');
  return new ProbeError(verdict, 'auth', said || code || text || 'credentials refused', {
    cause: err,
    response: { code, text },
  });
}

/** The server's first line when it is not an IMAP greeting (* OK, * PREAUTH, * BYE). */
function notAGreeting(ctx: CheckContext): string | undefined {
  const first = ctx.transcript.lines().find((l) => l.dir === 'S')?.line;
  return first !== undefined && !/^\* (OK|PREAUTH|BYE)\b/i.test(first) ? first : undefined;
}

export function classifyImapFailure(thrown: unknown, ctx: CheckContext, info: ImapFailureInfo): ProbeError {
  if (thrown instanceof ProbeError) return thrown;
  const phase: Phase = ctx.phases.current();
  const garbage = phase === 'greeting' ? notAGreeting(ctx) : undefined;
  if (garbage !== undefined) {
    return new ProbeError('protocol_error', 'greeting', 'server did not send an IMAP greeting', {
      cause: thrown,
      response: { text: garbage },
    });
  }
  if (thrown instanceof DeadlineError) return deadlineFailure(ctx, phase, info.receivedBytes, thrown);
  const err = toError(thrown) as ImapflowError;
  const code = typeof err.code === 'string' ? err.code : '';

  const cert = certFailureCode(code);
  if (cert) {
    return new ProbeError(cert, 'tls', describeCertProblem(cert, code, ctx.tls, ctx.target.host), {
      cause: err,
    });
  }
  if (err.tlsFailed && /does not support STARTTLS/i.test(err.message)) {
    return new ProbeError('starttls_unavailable', 'starttls', 'server does not advertise STARTTLS', {
      cause: err,
    });
  }
  if (code === 'STARTTLS_INJECTION') {
    return new ProbeError(
      'tls_handshake_failed',
      'starttls',
      'server sent data right after STARTTLS (possible injection)',
      { cause: err },
    );
  }
  if (isTlsLayerError(err) || (err.tlsFailed && phase === 'tls')) {
    return new ProbeError('tls_handshake_failed', 'tls', err.message, { cause: err });
  }
  if (code === 'CONNECT_TIMEOUT')
    return new ProbeError('connect_timeout', 'connect', 'no TCP connection in time', { cause: err });
  if (code === 'GREETING_TIMEOUT')
    return new ProbeError('greeting_timeout', 'greeting', 'server sent no greeting in time', { cause: err });
  if (code === 'UPGRADE_TIMEOUT' || code === 'ETIMEOUT') {
    return new ProbeError('deadline_exceeded', phase, `server went quiet during ${phase}`, { cause: err });
  }
  if (err.authenticationFailed || err.message === 'Unsupported authentication mechanism')
    return authFailure(err, ctx, info);
  if (CLOSED_CODES.has(code)) {
    if (err.reason && phase === 'greeting') {
      return new ProbeError('greeting_rejected', 'greeting', `BYE ${err.reason}`, {
        cause: err,
        response: { code: 'BYE', text: err.reason },
      });
    }
    const bye = err.reason ? ` (BYE ${err.reason})` : '';
    return new ProbeError('connection_closed', phase, `during ${phase}${bye}`, {
      cause: err,
      response: err.reason ? { code: 'BYE', text: err.reason } : undefined,
    });
  }
  if (phase === 'mailbox' && (err.responseStatus === 'NO' || err.responseStatus === 'BAD')) {
    const text = serverText(err);
    const name = ctx.target.mailbox ?? 'INBOX';
    const said = [err.serverResponseCode ?? err.responseStatus, text].filter(Boolean).join(' ');
    return new ProbeError('mailbox_unavailable', 'mailbox', `"${name}": ${said}`, {
      cause: err,
      response: { code: err.serverResponseCode ?? err.responseStatus, text },
    });
  }
  if (code.startsWith('ParserError') || PROTOCOL_CODES.has(code)) {
    return new ProbeError('protocol_error', phase, `unparseable server response during ${phase}`, {
      cause: err,
    });
  }
  const network = classifyNetworkError(err, phase);
  if (network) return network;
  if (err.responseStatus === 'NO' || err.responseStatus === 'BAD') {
    const text = serverText(err);
    return new ProbeError(
      'protocol_error',
      phase,
      `server answered ${err.responseStatus} during ${phase}${text ? `: ${text}` : ''}`,
      {
        cause: err,
        response: { code: err.serverResponseCode ?? err.responseStatus, text },
      },
    );
  }
  return new ProbeError('internal_error', phase, `unexpected error during ${phase}`, { cause: err });
}
