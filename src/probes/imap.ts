// The IMAP probe (imapflow): resolve, connect (implicit TLS, STARTTLS or plain), greeting,
// CAPABILITY, authenticate (LOGIN, AUTHENTICATE PLAIN/LOGIN, XOAUTH2/OAUTHBEARER), EXAMINE the
// mailbox read-only, LOGOUT. Every outcome becomes a ProbeResult; run() never throws.
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { performance } from 'node:perf_hooks';
import { createCheckContext, guardRun, type CheckContext } from './context.js';
import { ProbeError, type Phase } from './errors.js';
import { classifyImapFailure } from './imap-errors.js';
import { DEFAULT_QUOTA_WARNING_RATIO, quotaResult, readQuota } from './imap-quota.js';
import {
  createTlsContextCache,
  serverName,
  tlsConnectOptions,
  watchSocketProperty,
  type TlsContextCache,
} from './tls.js';
import type { Probe, ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

export interface ImapProbeDeps {
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
  /** Name the probe gives in the IMAP ID command. Default "mailmon". */
  clientName?: string;
  /** Quota usage (0..1) from which an ok result carries a quota_nearly_full warning. Default 0.9. */
  quotaWarningRatio?: number;
}

/** Mailbox opened when the target names none. */
export const DEFAULT_MAILBOX = 'INBOX';

/** Library timers are a backstop only: the check's own deadline fires first. */
const LIBRARY_TIMER_SLACK_MS = 1_000;

const COMMAND_PHASES: Record<string, Phase> = {
  CAPABILITY: 'capability',
  STARTTLS: 'starttls',
  LOGIN: 'auth',
  AUTHENTICATE: 'auth',
  SELECT: 'mailbox',
  EXAMINE: 'mailbox',
  LOGOUT: 'logout',
};

/** What a probe instance keeps between checks. */
interface ImapEnv {
  now: () => number;
  clientName: string;
  contexts: TlsContextCache;
  quotaWarningRatio: number;
}

function imapEnv(deps: ImapProbeDeps): ImapEnv {
  return {
    now: deps.now ?? (() => performance.now()),
    clientName: deps.clientName ?? 'mailmon',
    contexts: createTlsContextCache(),
    quotaWarningRatio: deps.quotaWarningRatio ?? DEFAULT_QUOTA_WARNING_RATIO,
  };
}

export function createImapProbe(deps: ImapProbeDeps = {}): Probe {
  const env = imapEnv(deps);
  const quotaStep: MailboxStep = async (ctx, session, mailbox) => {
    const quota = await readQuota(ctx, session, mailbox);
    return () => quotaResult(ctx, quota, env.quotaWarningRatio);
  };
  return {
    protocol: 'imap',
    run: (target, options) => guardRun(target, () => runImapCheck(target, options, env, quotaStep)),
  };
}

/**
 * Work done inside a logged-in session after the mailbox opened (read-only), within the check's
 * deadline; it returns how to turn the session's success into the result. A throw is classified
 * like any IMAP failure (in the phase the step is in).
 */
export type MailboxStep = (
  ctx: CheckContext,
  client: ImapFlow,
  mailbox: string,
) => Promise<() => ProbeResult>;

/**
 * An IMAP check that runs `step` in the session (e.g. the delivery round trip's mailbox scan):
 * connect, TLS, login and mailbox as the probe does them, then the step, then LOGOUT.
 */
export function createImapSessionRunner(
  deps: ImapProbeDeps = {},
): (target: ProbeTarget, options: ProbeOptions, step: MailboxStep) => Promise<ProbeResult> {
  const env = imapEnv(deps);
  return (target, options, step) => guardRun(target, () => runImapCheck(target, options, env, step));
}

function invalidTarget(target: ProbeTarget): ProbeError | undefined {
  if (target.authType === 'cram-md5') {
    return new ProbeError(
      'config_invalid',
      'auth',
      'auth type cram-md5 is not supported for IMAP (use password, plain, login or oauth2)',
    );
  }
  if (target.testSend)
    return new ProbeError('config_invalid', 'dns', 'a test send is only possible on the SMTP side');
  return undefined;
}

async function runImapCheck(
  target: ProbeTarget,
  options: ProbeOptions,
  env: ImapEnv,
  step: MailboxStep,
): Promise<ProbeResult> {
  const ctx = createCheckContext(target, options, env.now);
  let client: ImapFlow | undefined;
  try {
    const invalid = invalidTarget(target);
    if (invalid) return ctx.fail(invalid);
    await ctx.resolveHost();
    const session = newClient(ctx, env);
    client = session;
    ctx.deadline.onEnd(() => session.close());
    await ctx.deadline.race(session.connect());
    ctx.phases.enter('mailbox');
    const mailbox = target.mailbox ?? DEFAULT_MAILBOX;
    await ctx.deadline.race(session.mailboxOpen(mailbox, { readOnly: true }));
    const finish = await step(ctx, session, mailbox);
    ctx.phases.enter('logout');
    await logoutQuietly(ctx, session);
    return finish();
  } catch (thrown) {
    return ctx.fail(
      classifyImapFailure(thrown, ctx, {
        capabilities: client ? new Set(client.capabilities.keys()) : undefined,
        receivedBytes: client?.stats().received,
      }),
    );
  } finally {
    client?.close();
    ctx.dispose();
  }
}

/** LOGOUT is courtesy: the account already proved itself, so a failed LOGOUT is only noted. */
async function logoutQuietly(ctx: CheckContext, client: ImapFlow): Promise<void> {
  try {
    await ctx.deadline.race(client.logout());
  } catch (err) {
    ctx.transcript.note(`LOGOUT did not complete (${err instanceof Error ? err.message : 'unknown error'})`);
  }
}

function newClient(ctx: CheckContext, env: ImapEnv): ImapFlow {
  const { target } = ctx;
  const backstop = ctx.deadline.remaining() + LIBRARY_TIMER_SLACK_MS;
  const oauth = target.authType === 'oauth2';
  const options: ImapFlowOptions = {
    host: ctx.address,
    port: target.port,
    secure: target.security === 'tls',
    servername: serverName(target.host),
    doSTARTTLS: target.security === 'starttls' ? true : target.security === 'none' ? false : undefined,
    tls: tlsConnectOptions(target, env.contexts),
    auth: oauth
      ? { user: target.username, accessToken: target.secret }
      : { user: target.username, pass: target.secret, loginMethod: loginMethod(target) },
    clientInfo: { name: env.clientName, vendor: env.clientName, 'support-url': '' },
    logger: transcriptLogger(ctx),
    disableCompression: true,
    disableAutoEnable: true,
    disableAutoIdle: true,
    connectionTimeout: backstop,
    greetingTimeout: backstop,
    socketTimeout: backstop,
  };
  const client = new ImapFlow(options);
  // An 'error' event without a listener would crash the process; the outcome arrives as a rejection.
  client.on('error', () => undefined);
  watchSocketProperty(client, 'socket', (socket) => ctx.observeSocket(socket));
  return client;
}

/** imapflow's loginMethod for our auth type: undefined lets it pick (AUTH=PLAIN, AUTH=LOGIN, LOGIN). */
function loginMethod(target: ProbeTarget): string | undefined {
  if (target.authType === 'plain') return 'AUTH=PLAIN';
  if (target.authType === 'login') return 'LOGIN';
  return undefined;
}

/** imapflow logs every command and response at debug level (src 'c' / 's'): that is the transcript. */
function transcriptLogger(ctx: CheckContext): NonNullable<ImapFlowOptions['logger']> {
  const onEntry = (entry: unknown): void => {
    if (!entry || typeof entry !== 'object') return;
    const { src, msg } = entry as { src?: unknown; msg?: unknown };
    if (typeof msg !== 'string') return;
    if (src === 'c') {
      const command = /^\S+\s+([A-Za-z]+)/.exec(msg)?.[1]?.toUpperCase();
      // ID before login belongs to the capability exchange; after login it stays in auth.
      const phase =
        command === 'ID' && !ctx.phases.reached('auth')
          ? 'capability'
          : command
            ? COMMAND_PHASES[command]
            : undefined;
      if (phase) ctx.phases.enter(phase);
      ctx.transcript.client(msg);
    } else if (src === 's') {
      ctx.transcript.server(msg);
    }
  };
  const ignore = (): void => undefined;
  return { trace: ignore, debug: onEntry, info: ignore, warn: ignore, error: ignore, fatal: ignore };
}
