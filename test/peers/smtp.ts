// An in-process SMTP server (npm smtp-server) on 127.0.0.1:<random>, with the test certificate, real
// AUTH checks and a list of received messages. Note: smtp-server delays every greeting by ~100 ms
// (early-talker check); fine for tests, wrong for benchmarks.
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerOptions } from 'smtp-server';
import { certFor, type CertKind } from './certs.js';

export interface SmtpUser {
  user: string;
  pass: string;
}

export interface SmtpServerOptions {
  /** Implicit TLS (like port 465). Default false: plain with STARTTLS (like 587). */
  secure?: boolean;
  users: SmtpUser[];
  /** Default ['PLAIN', 'LOGIN'], plus 'XOAUTH2' when `oauthTokens` is given. */
  authMethods?: string[];
  /** user -> the one access token XOAUTH2 accepts for that user. */
  oauthTokens?: Record<string, string>;
  /** Default 'valid'. */
  cert?: CertKind;
  /** Do not advertise STARTTLS. */
  hideSTARTTLS?: boolean;
  /** E.g. ['STARTTLS'] or ['AUTH']. */
  disabledCommands?: string[];
  /** Accept mail without AUTH (a relay sink). Default false: MAIL FROM before AUTH gets 530. */
  authOptional?: boolean;
  /** Accept AUTH before STARTTLS. Default false, like real submission servers (they answer 538). */
  allowInsecureAuth?: boolean;
  /**
   * Called with each message before DATA is acknowledged (e.g. to deliver it into Dovecot for a
   * round-trip test). A rejection answers the client 451 and the message is not recorded.
   */
  onMessage?: (msg: ReceivedMessage) => Promise<void>;
  /**
   * The reply to a refused AUTH (default 535 "5.7.8 Authentication credentials invalid"), the
   * message starting with its enhanced code, e.g. Microsoft's `535 5.7.139 ... SmtpClientAuthentication
   * is disabled for the Tenant`. `refuseAll` refuses even the right password (basic auth is off).
   */
  authFailure?: { responseCode: number; message: string; refuseAll?: boolean };
  /** Passed through to smtp-server last; overrides anything above. */
  serverOptions?: Partial<SMTPServerOptions>;
}

export interface ReceivedMessage {
  from: string;
  to: string[];
  data: string;
  /** The authenticated user, if any. */
  user?: string;
}

export interface AuthAttempt {
  method: string;
  user: string;
  ok: boolean;
}

export interface TestSmtpServer {
  host: '127.0.0.1';
  port: number;
  secure: boolean;
  /** The CA that signed the server certificate (for 'selfsigned', the certificate itself). */
  caPem: string;
  messages: ReceivedMessage[];
  /** Every AUTH attempt, without the secret. */
  authAttempts: AuthAttempt[];
  /** Close, forcing open sessions shut after 500 ms. Idempotent. */
  stop(): Promise<void>;
}

function checkAuth(auth: SMTPServerAuthentication, opts: SmtpServerOptions): boolean {
  const user = auth.username ?? '';
  if (auth.method === 'XOAUTH2') {
    const token = opts.oauthTokens?.[user];
    return token !== undefined && auth.accessToken === token;
  }
  return opts.users.some((u) => u.user === user && u.pass === auth.password);
}

export async function startSmtpServer(opts: SmtpServerOptions): Promise<TestSmtpServer> {
  const cert = await certFor(opts.cert ?? 'valid');
  const messages: ReceivedMessage[] = [];
  const authAttempts: AuthAttempt[] = [];
  const secure = opts.secure ?? false;

  const server = new SMTPServer({
    secure,
    key: cert.keyPem,
    cert: cert.certPem,
    name: 'localhost',
    logger: false,
    closeTimeout: 500,
    authMethods: opts.authMethods ?? ['PLAIN', 'LOGIN', ...(opts.oauthTokens ? ['XOAUTH2'] : [])],
    hideSTARTTLS: opts.hideSTARTTLS ?? false,
    disabledCommands: opts.disabledCommands ?? [],
    allowInsecureAuth: opts.allowInsecureAuth ?? false,
    authOptional: opts.authOptional ?? false,
    onAuth(auth, _session, callback) {
      const ok = checkAuth(auth, opts) && opts.authFailure?.refuseAll !== true;
      const user = auth.username ?? '';
      authAttempts.push({ method: auth.method, user, ok });
      if (ok) return callback(null, { user });
      if (auth.method === 'XOAUTH2') {
        // RFC 7628 error challenge, like Gmail's; the client's empty reply then gets a 535.
        return callback(null, {
          data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' },
        });
      }
      const failure = opts.authFailure ?? {
        responseCode: 535,
        message: '5.7.8 Authentication credentials invalid',
      };
      const err = Object.assign(new Error(failure.message), { responseCode: failure.responseCode });
      return callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        const msg: ReceivedMessage = {
          from: mailFrom ? mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
          user: typeof session.user === 'string' ? session.user : undefined,
        };
        (opts.onMessage ?? (async () => undefined))(msg).then(
          () => {
            messages.push(msg);
            callback();
          },
          () => callback(Object.assign(new Error('4.3.0 Delivery failed'), { responseCode: 451 })),
        );
      });
    },
    ...opts.serverOptions,
  });
  // Socket errors from clients that vanish mid-session are expected in probe tests.
  server.on('error', () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.removeListener('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;

  let stopping: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    secure,
    caPem: opts.cert === 'selfsigned' ? cert.certPem : cert.caPem,
    messages,
    authAttempts,
    stop: () => (stopping ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}
