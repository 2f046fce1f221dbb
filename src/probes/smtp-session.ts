// Promise-shaped steps over nodemailer's SMTPConnection (connect, login, send, quit), the
// transcript logger it reports through, and the SASL choice. SMTPConnection reports failures
// either through a step's callback or through its 'error' event; every step here listens to both
// (and to 'end'), so a step can never hang once the connection is gone.
import SMTPConnection, {
  type SMTPConnectionAuth,
  type SMTPConnectionCustomAuthContext,
} from 'nodemailer/lib/smtp-connection';
import { format } from 'node:util';
import type { CheckContext } from './context.js';
import type { Phase } from './errors.js';

const COMMAND_PHASES: Record<string, Phase> = {
  EHLO: 'ehlo',
  HELO: 'ehlo',
  LHLO: 'ehlo',
  STARTTLS: 'starttls',
  AUTH: 'auth',
  MAIL: 'mail-from',
  RCPT: 'rcpt',
  DATA: 'data',
  QUIT: 'quit',
};

/** What the session learned that nodemailer does not expose: the server's last EHLO reply. */
export interface SmtpSessionState {
  lastEhloReply: string | undefined;
}

type LogFn = (entry: unknown, message?: unknown, ...args: unknown[]) => void;

/**
 * nodemailer logs every command ({tnx:'client'}) and reply ({tnx:'server'}) at debug level when
 * `debug` is on; that is the transcript, and the command names drive the phase clock.
 */
export function transcriptLogger(ctx: CheckContext, state: SmtpSessionState): Record<string, LogFn> {
  let lastCommand = '';
  const onEntry: LogFn = (entry, message, ...args) => {
    if (!entry || typeof entry !== 'object' || message === undefined) return;
    const tnx = (entry as { tnx?: unknown }).tnx;
    const text = format(String(message), ...args);
    if (tnx === 'client') {
      lastCommand = /^([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? '';
      const phase = COMMAND_PHASES[lastCommand];
      if (phase) ctx.phases.enter(phase);
      ctx.transcript.client(text);
    } else if (tnx === 'server') {
      if (lastCommand === 'EHLO' || lastCommand === 'LHLO') state.lastEhloReply = text;
      ctx.transcript.server(text);
    }
  };
  const ignore: LogFn = () => undefined;
  return { trace: ignore, debug: onEntry, info: ignore, warn: ignore, error: ignore, fatal: ignore };
}

/** Run one SMTPConnection step; rejects on its callback error, an 'error' event or the connection ending. */
function step<T>(
  conn: SMTPConnection,
  start: (done: (err: Error | null, value?: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onError = (err: Error): void => finish(err);
    const onEnd = (): void =>
      finish(Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' }));
    const finish = (err: Error | null, value?: T): void => {
      conn.removeListener('error', onError);
      conn.removeListener('end', onEnd);
      if (err) reject(err);
      else resolve(value as T);
    };
    conn.once('error', onError);
    conn.once('end', onEnd);
    start(finish);
  });
}

/** Greeting, EHLO, STARTTLS and the EHLO after it. */
export function connectStep(conn: SMTPConnection): Promise<void> {
  return step(conn, (done) => conn.connect((err?: Error | null) => done(err ?? null)));
}

export function loginStep(conn: SMTPConnection, auth: SMTPConnectionAuth): Promise<void> {
  return step(conn, (done) => conn.login(auth, (err) => done(err ?? null)));
}

export function sendStep(conn: SMTPConnection, from: string, to: string, message: string): Promise<void> {
  return step(conn, (done) => conn.send({ from, to: [to] }, message, (err) => done(err ?? null)));
}

/** QUIT and wait for the connection to end. */
export function quitStep(conn: SMTPConnection): Promise<void> {
  return new Promise((resolve) => {
    conn.once('end', () => resolve());
    conn.quit();
  });
}

/** SASL mechanisms named on the AUTH line(s) of an EHLO reply, upper-case. */
export function offeredMechanisms(ehloReply: string | undefined): string[] {
  const out = new Set<string>();
  for (const line of (ehloReply ?? '').split(/\r?\n/)) {
    const m = /^\d{3}[ -]AUTH[ =](.*)$/i.exec(line.trim());
    if (m?.[1]) for (const mech of m[1].trim().split(/[\s=]+/)) if (mech) out.add(mech.toUpperCase());
  }
  return [...out];
}

/** The SASL mechanism our auth type asks for, or undefined to let nodemailer pick among PLAIN, LOGIN, CRAM-MD5. */
export function wantedMechanism(authType: string): string | undefined {
  switch (authType) {
    case 'plain':
      return 'PLAIN';
    case 'login':
      return 'LOGIN';
    case 'cram-md5':
      return 'CRAM-MD5';
    case 'oauth2':
      return 'XOAUTH2';
    default:
      return undefined;
  }
}

/** Mechanisms nodemailer can run with a password, in its order of preference. */
export const PASSWORD_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5'];

/**
 * The login method name our XOAUTH2 handler is registered under. Not "XOAUTH2": nodemailer
 * re-picks another mechanism (PLAIN, with the token as password) when XOAUTH2 is asked for without
 * its own token generator.
 */
export const XOAUTH2_METHOD = 'MAILMON-XOAUTH2';

/**
 * XOAUTH2 as a custom handler rather than nodemailer's built-in, which on a rejected token asks
 * for a fresh one and retries; a probe has one token and wants the server's refusal as it is.
 */
export function xoauth2Handler(user: string, accessToken: string) {
  return async ({ sendCommand }: SMTPConnectionCustomAuthContext): Promise<void> => {
    const payload = Buffer.from(`user=${user}\u0001auth=Bearer ${accessToken}\u0001\u0001`).toString(
      'base64',
    );
    let reply = await sendCommand(`AUTH XOAUTH2 ${payload}`);
    // On failure the server sends a 334 with an error JSON and waits for an empty line.
    if (reply.status === 334) reply = await sendCommand('');
    if (reply.status !== 235) throw new Error('Invalid login');
  };
}
