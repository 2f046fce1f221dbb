// The SMTP probe (nodemailer's SMTPConnection): resolve, connect (implicit TLS, STARTTLS or
// plain), greeting, EHLO, STARTTLS, AUTH (PLAIN, LOGIN, CRAM-MD5, XOAUTH2), an optional test
// send, QUIT. Every outcome becomes a ProbeResult; run() never throws.
import SMTPConnection, { type SMTPConnectionAuth } from 'nodemailer/lib/smtp-connection';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createCheckContext, guardRun, type CheckContext } from './context.js';
import { ProbeError } from './errors.js';
import {
  connectStep,
  loginStep,
  offeredMechanisms,
  PASSWORD_MECHANISMS,
  quitStep,
  sendStep,
  transcriptLogger,
  wantedMechanism,
  xoauth2Handler,
  XOAUTH2_METHOD,
  type SmtpSessionState,
} from './smtp-session.js';
import { classifySmtpFailure } from './smtp-errors.js';
import {
  createTlsContextCache,
  isTlsSocket,
  serverName,
  tlsConnectOptions,
  watchSocketProperty,
  type TlsContextCache,
} from './tls.js';
import type { Probe, ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

export interface SmtpProbeDeps {
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
  /** Name sent with EHLO. Default: "mailmon.invalid" (no local host name leaks to servers). */
  ehloName?: string;
  /** Wall clock for the test message's Date header. Default: () => new Date(). */
  wallClock?: () => Date;
}

/** Library timers are a backstop only: the check's own deadline fires first. */
const LIBRARY_TIMER_SLACK_MS = 1_000;

interface SmtpEnv {
  now: () => number;
  ehloName: string;
  wallClock: () => Date;
  contexts: TlsContextCache;
}

export function createSmtpProbe(deps: SmtpProbeDeps = {}): Probe {
  const env: SmtpEnv = {
    now: deps.now ?? (() => performance.now()),
    ehloName: deps.ehloName ?? 'mailmon.invalid',
    wallClock: deps.wallClock ?? (() => new Date()),
    contexts: createTlsContextCache(),
  };
  return {
    protocol: 'smtp',
    run: (target, options) => guardRun(target, () => runSmtpCheck(target, options, env)),
  };
}

const ADDRESS = /^[^\s<>()",;:\\@]+@[^\s<>()",;:\\@]+$/;

function invalidTarget(target: ProbeTarget): ProbeError | undefined {
  if (!target.testSend) return undefined;
  if (!target.emailAddress || !ADDRESS.test(target.emailAddress)) {
    return new ProbeError(
      'config_invalid',
      'mail-from',
      'a test send needs the account e-mail address as sender',
    );
  }
  if (!ADDRESS.test(target.testSend.to))
    return new ProbeError('config_invalid', 'rcpt', 'the test recipient is not an e-mail address');
  return undefined;
}

async function runSmtpCheck(target: ProbeTarget, options: ProbeOptions, env: SmtpEnv): Promise<ProbeResult> {
  const ctx = createCheckContext(target, options, env.now);
  const state: SmtpSessionState = { lastEhloReply: undefined };
  let conn: SMTPConnection | undefined;
  let firstSocket: unknown;
  try {
    const invalid = invalidTarget(target);
    if (invalid) return ctx.fail(invalid);
    await ctx.resolveHost();
    const session = newConnection(ctx, env, state, (socket) => (firstSocket ??= socket));
    conn = session;
    ctx.deadline.onEnd(() => session.close());
    await ctx.deadline.race(connectStep(session));
    if (target.security === 'starttls' && !session.secure) {
      throw new ProbeError('starttls_unavailable', 'starttls', 'server does not advertise STARTTLS');
    }
    // No user name means "no AUTH" (a relay that trusts the network, or the vendor APIs'
    // "smtpUseAuth: false"): the check then proves connect, greeting, EHLO and TLS only.
    if (target.username !== '') {
      ctx.phases.enter('auth');
      await ctx.deadline.race(loginStep(session, authFor(target, state)));
    }
    if (target.testSend && target.emailAddress) {
      ctx.phases.enter('mail-from');
      const { to, probeTag } = target.testSend;
      const message = testMessage(target.emailAddress, to, target.host, env.wallClock(), probeTag);
      await ctx.deadline.race(sendStep(session, target.emailAddress, target.testSend.to, message));
    }
    ctx.phases.enter('quit');
    await quitQuietly(ctx, session);
    return ctx.succeed();
  } catch (thrown) {
    const plain =
      firstSocket && !isTlsSocket(firstSocket) ? (firstSocket as { bytesRead?: number }) : undefined;
    return ctx.fail(classifySmtpFailure(thrown, ctx, { receivedBytes: plain?.bytesRead }));
  } finally {
    conn?.close();
    ctx.dispose();
  }
}

/** QUIT is courtesy: the account already proved itself, so a failed QUIT is only noted. */
async function quitQuietly(ctx: CheckContext, conn: SMTPConnection): Promise<void> {
  try {
    await ctx.deadline.race(quitStep(conn));
  } catch (err) {
    ctx.transcript.note(`QUIT did not complete (${err instanceof Error ? err.message : 'unknown error'})`);
  }
}

function newConnection(
  ctx: CheckContext,
  env: SmtpEnv,
  state: SmtpSessionState,
  onSocket: (s: unknown) => void,
): SMTPConnection {
  const { target } = ctx;
  const backstop = ctx.deadline.remaining() + LIBRARY_TIMER_SLACK_MS;
  const conn = new SMTPConnection({
    host: ctx.address,
    port: target.port,
    secure: target.security === 'tls',
    servername: serverName(target.host),
    requireTLS: target.security === 'starttls',
    ignoreTLS: target.security === 'none',
    tls: tlsConnectOptions(target, env.contexts),
    name: env.ehloName,
    logger: transcriptLogger(ctx, state),
    debug: true,
    connectionTimeout: backstop,
    greetingTimeout: backstop,
    socketTimeout: backstop,
    dnsTimeout: backstop,
    // Destroy at close instead of waiting up to 5 s for the server's FIN: nothing may outlive a check.
    socketCloseTimeout: 0,
    ...(target.authType === 'oauth2'
      ? { customAuth: { [XOAUTH2_METHOD]: xoauth2Handler(target.username, target.secret) } }
      : {}),
  });
  // An 'error' event without a listener would crash the process; each step listens for its own.
  conn.on('error', () => undefined);
  watchSocketProperty(conn, '_socket', (socket) => {
    onSocket(socket);
    ctx.observeSocket(socket);
  });
  return conn;
}

/** The login for our auth type; throws auth_mechanism_unsupported when the server does not offer it. */
function authFor(target: ProbeTarget, state: SmtpSessionState): SMTPConnectionAuth {
  const offered = offeredMechanisms(state.lastEhloReply);
  const wanted = wantedMechanism(target.authType);
  const usable = wanted ? [wanted] : PASSWORD_MECHANISMS;
  if (!usable.some((m) => offered.includes(m))) {
    const detail = `${usable.join(' or ')} not offered (server offers ${offered.length > 0 ? offered.join(' ') : 'no AUTH'})`;
    throw new ProbeError('auth_mechanism_unsupported', 'auth', detail);
  }
  // For XOAUTH2 the custom handler holds the token; nodemailer still wants a "pass" to be present.
  const method = target.authType === 'oauth2' ? XOAUTH2_METHOD : wanted;
  return { user: target.username, pass: target.secret, ...(method ? { method } : {}) };
}

/** A short, clearly marked message; nothing in it comes from the server. */
function testMessage(from: string, to: string, host: string, date: Date, probeTag?: string): string {
  const id = randomUUID();
  const probe = probeTag !== undefined;
  return [
    `From: <${from}>`,
    `To: <${to}>`,
    probe ? `Subject: [mailmon] delivery probe ${probeTag}` : `Subject: [mailmon] SMTP test message ${id}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${id}@mailmon.invalid>`,
    'Auto-Submitted: auto-generated',
    'X-Mailmon-Test: yes',
    ...(probe ? [`X-Mailmon-Probe: ${probeTag}`] : []),
    'Content-Type: text/plain; charset=utf-8',
    '',
    probe
      ? `This message was sent by mailmon to check that mail sent through ${host} arrives in this mailbox.`
      : `This message was sent by mailmon to check that ${from} can send mail through ${host}.`,
    probe
      ? 'mailmon deletes it as soon as it finds it; if you see it, it arrived late.'
      : 'It is an automated test and can be deleted.',
    '',
  ].join('\r\n');
}
