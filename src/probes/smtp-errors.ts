// nodemailer's SMTP errors → the failure catalogue. nodemailer tags each error with a type
// (`code`: ECONNECTION, ETLS, EAUTH, EENVELOPE, ...), the command in flight (`command`), the
// server's reply (`response`, `responseCode`) and, for socket errors, the errno as `originalCode`.
import { smtpAuthVerdict } from './auth-verdict.js';
import { deadlineFailure, type CheckContext } from './context.js';
import { DeadlineError } from './deadline.js';
import { ProbeError, toError, type Phase, type ServerResponse } from './errors.js';
import { classifyNetworkError, errnoOf } from './network-errors.js';
import { certFailureCode, describeCertProblem, isTlsLayerError } from './tls.js';

interface NodemailerError extends Error {
  code?: string;
  originalCode?: string;
  command?: string;
  response?: string;
  responseCode?: number;
  timeoutType?: string;
}

export interface SmtpFailureInfo {
  /** Bytes read on a plain socket (for "only N bytes of a greeting"). */
  receivedBytes: number | undefined;
}

/** "535 5.7.8 Error: authentication failed" → { code: "535 5.7.8", text: "Error: authentication failed" }. */
export function parseReply(reply: string | undefined): ServerResponse | undefined {
  if (!reply) return undefined;
  const lines = reply.trim().split(/\r?\n/);
  const last = lines[lines.length - 1] ?? '';
  const m = /^(\d{3})(?:[ -](\d\.\d{1,3}\.\d{1,3}))?[ -]?(.*)$/.exec(last);
  if (!m) return { text: reply.trim() };
  const text = lines.map((l) => l.replace(/^\d{3}[ -](?:\d\.\d{1,3}\.\d{1,3} )?/, '')).join(' ');
  return { code: m[2] ? `${m[1]} ${m[2]}` : m[1], text };
}

function said(response: ServerResponse | undefined): string {
  return [response?.code, response?.text].filter(Boolean).join(' ');
}

const SEND_PHASES: Record<string, Phase> = { 'MAIL FROM': 'mail-from', 'RCPT TO': 'rcpt', DATA: 'data' };

/** 504: mechanism not recognised; 534: too weak; 538: needs encryption. */
const MECHANISM_REPLIES = new Set([504, 534, 538]);

export function classifySmtpFailure(thrown: unknown, ctx: CheckContext, info: SmtpFailureInfo): ProbeError {
  if (thrown instanceof ProbeError) return thrown;
  const phase: Phase = ctx.phases.current();
  if (thrown instanceof DeadlineError) return deadlineFailure(ctx, phase, info.receivedBytes, thrown);
  const err = toError(thrown) as NodemailerError;
  const type = err.code ?? '';
  const command = err.command ?? '';
  const response = parseReply(err.response);
  const errno = errnoOf(err);

  const cert =
    certFailureCode(errno) ??
    certFailureCode(ctx.tls && !ctx.tls.authorized ? (ctx.tls.authorizationError ?? undefined) : undefined);
  if (cert && (isTlsLayerError(err) || certFailureCode(errno))) {
    return new ProbeError(
      cert,
      'tls',
      describeCertProblem(cert, errno || ctx.tls?.authorizationError || '', ctx.tls, ctx.target.host),
      {
        cause: err,
      },
    );
  }
  if (type === 'ETLS' && command === 'STARTTLS' && response) {
    return new ProbeError('starttls_unavailable', 'starttls', `server refused STARTTLS: ${said(response)}`, {
      cause: err,
      response,
    });
  }
  if (isTlsLayerError({ code: errno, message: err.message }) || type === 'ETLS') {
    return new ProbeError(
      'tls_handshake_failed',
      'tls',
      err.message.replace(/^Error initiating TLS - /, ''),
      { cause: err },
    );
  }
  if (type === 'ETIMEDOUT' && err.timeoutType) return libraryTimeout(err, phase);
  if (type === 'EPROTOCOL' && command === 'CONN' && /^Invalid greeting/.test(err.message)) {
    return response?.code && /^[45]/.test(response.code)
      ? new ProbeError('greeting_rejected', 'greeting', said(response), { cause: err, response })
      : new ProbeError('protocol_error', 'greeting', `greeting is not an SMTP 220 reply`, {
          cause: err,
          response,
        });
  }
  if (command === 'EHLO' || command === 'HELO' || command === 'LHLO') {
    return new ProbeError('ehlo_rejected', 'ehlo', said(response) || err.message, { cause: err, response });
  }
  if (type === 'EAUTH') {
    // Before the mechanism rule: Google answers "534 5.7.9 Application-specific password required".
    const verdict = smtpAuthVerdict(response);
    if (verdict !== 'auth_rejected')
      return new ProbeError(verdict, 'auth', said(response), { cause: err, response });
    if (err.responseCode && MECHANISM_REPLIES.has(err.responseCode)) {
      return new ProbeError('auth_mechanism_unsupported', 'auth', said(response), { cause: err, response });
    }
    return new ProbeError('auth_rejected', 'auth', said(response) || 'credentials refused', {
      cause: err,
      response,
    });
  }
  if (type === 'EENVELOPE' || type === 'EMESSAGE') {
    const at = SEND_PHASES[command] ?? phase;
    return new ProbeError('send_rejected', at, `at ${command || at}: ${said(response) || err.message}`, {
      cause: err,
      response,
    });
  }
  if (type === 'EDNS')
    return new ProbeError('dns_not_found', 'dns', `host name not found (${errno})`, { cause: err });
  const network = classifyNetworkError(err, phase);
  if (network) return network;
  if (type === 'ECONNECTION' || type === 'ESOCKET') {
    const at = ctx.greeted() || phase !== 'greeting' ? phase : 'greeting';
    return new ProbeError('connection_closed', at, `during ${at}${response ? `: ${said(response)}` : ''}`, {
      cause: err,
      response,
    });
  }
  if (type === 'EPROTOCOL')
    return new ProbeError('protocol_error', phase, `unexpected reply during ${phase}`, {
      cause: err,
      response,
    });
  return new ProbeError('internal_error', phase, `unexpected error during ${phase}`, { cause: err });
}

function libraryTimeout(err: NodemailerError, phase: Phase): ProbeError {
  switch (err.timeoutType) {
    case 'CONNECT_TIMEOUT':
      return new ProbeError('connect_timeout', 'connect', 'no TCP connection in time', { cause: err });
    case 'GREETING_TIMEOUT':
      return new ProbeError('greeting_timeout', 'greeting', 'server sent no greeting in time', {
        cause: err,
      });
    case 'UPGRADE_TIMEOUT':
      return new ProbeError('deadline_exceeded', 'tls', 'TLS upgrade did not finish in time', { cause: err });
    default:
      return new ProbeError('deadline_exceeded', phase, `server went quiet during ${phase}`, { cause: err });
  }
}
