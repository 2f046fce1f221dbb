// The lean IMAP probe (`probes.imap.mode: login`) for fleets: TLS + LOGIN + LOGOUT and nothing
// else. imapflow always sends CAPABILITY, ID (twice when offered) and NAMESPACE around the login,
// with no option to skip them (bench/results has the figures); this probe sends only what the
// verdict needs: CAPABILITY only when the greeting did not carry the capabilities (and after
// STARTTLS, where RFC 9051 says to discard them), then LOGIN or AUTHENTICATE PLAIN, then LOGOUT.
// Failures get the same codes as the full probe. OAuth2 targets go to the full probe.
import { performance } from 'node:perf_hooks';
import { createCheckContext, deadlineFailure, guardRun, type CheckContext } from './context.js';
import { imapAuthVerdict } from './auth-verdict.js';
import { DeadlineError } from './deadline.js';
import { ProbeError, toError, type Phase } from './errors.js';
import { capabilitiesIn, ImapWire, quoted, ServerClosedError, type TaggedReply } from './imap-wire.js';
import { classifyNetworkError } from './network-errors.js';
import {
  certFailureCode,
  createTlsContextCache,
  describeCertProblem,
  isTlsLayerError,
  serverName,
  tlsConnectOptions,
  type TlsContextCache,
} from './tls.js';
import type { Probe, ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

export interface ImapLoginProbeDeps {
  /** Runs what the lean exchange does not cover (OAuth2). */
  full: Probe;
  now?: () => number;
}

export function createImapLoginProbe(deps: ImapLoginProbeDeps): Probe {
  const now = deps.now ?? (() => performance.now());
  const contexts = createTlsContextCache();
  return {
    protocol: 'imap',
    run: (target, options) =>
      target.authType === 'oauth2'
        ? deps.full.run(target, options)
        : guardRun(target, () => runLoginCheck(target, options, now, contexts)),
  };
}

async function runLoginCheck(
  target: ProbeTarget,
  options: ProbeOptions,
  now: () => number,
  contexts: TlsContextCache,
): Promise<ProbeResult> {
  const ctx = createCheckContext(target, options, now);
  let wire: ImapWire | undefined;
  try {
    if (target.authType === 'cram-md5') {
      const detail = 'auth type cram-md5 is not supported for IMAP (use password, plain, login or oauth2)';
      return ctx.fail(new ProbeError('config_invalid', 'auth', detail));
    }
    if (target.testSend)
      return ctx.fail(
        new ProbeError('config_invalid', 'dns', 'a test send is only possible on the SMTP side'),
      );
    await ctx.resolveHost();
    const tls = { ...tlsConnectOptions(target, contexts), servername: serverName(target.host) };
    const session = ImapWire.open(
      { ...tls, host: ctx.address!, port: target.port, tls: target.security === 'tls' },
      {
        onSocket: (socket) => ctx.observeSocket(socket),
        onClientLine: (line) => ctx.transcript.client(line),
        onServerLine: (line) => ctx.transcript.server(line),
      },
    );
    wire = session;
    ctx.deadline.onEnd(() => session.close());
    // Most servers put their capabilities in the greeting; the rest are asked (LOGINDISABLED,
    // AUTH=PLAIN and STARTTLS decide the codes, as in the full probe).
    let caps =
      (await ctx.deadline.race(greeting(ctx, session))) ??
      (await ctx.deadline.race(capability(ctx, session)));
    if (target.security === 'starttls') {
      await ctx.deadline.race(startTls(ctx, session, caps, tls));
      caps = await ctx.deadline.race(capability(ctx, session));
    }
    ctx.phases.enter('auth');
    await ctx.deadline.race(login(ctx, session, caps));
    ctx.phases.enter('logout');
    await logoutQuietly(ctx, session);
    return ctx.succeed();
  } catch (thrown) {
    return ctx.fail(classify(thrown, ctx, wire?.received));
  } finally {
    wire?.close();
    ctx.dispose();
  }
}

/** The greeting; resolves to the capabilities it carried, if any. */
async function greeting(ctx: CheckContext, wire: ImapWire): Promise<Set<string> | undefined> {
  const line = await wire.readLine();
  const bye = /^\* BYE\s?(.*)$/i.exec(line);
  if (bye) {
    throw new ProbeError('greeting_rejected', 'greeting', `BYE ${bye[1] ?? ''}`.trim(), {
      response: { code: 'BYE', text: bye[1] ?? '' },
    });
  }
  if (/^\* PREAUTH\b/i.test(line)) {
    throw new ProbeError('protocol_error', 'greeting', 'server pre-authenticated the session (PREAUTH)', {
      response: { text: line },
    });
  }
  if (!/^\* OK\b/i.test(line)) {
    throw new ProbeError('protocol_error', 'greeting', 'server did not send an IMAP greeting', {
      response: { text: line },
    });
  }
  return capabilitiesIn(line);
}

async function capability(ctx: CheckContext, wire: ImapWire): Promise<Set<string>> {
  ctx.phases.enter('capability');
  let caps = new Set<string>();
  const reply = await wire.reply(wire.send('CAPABILITY'), (line) => (caps = capabilitiesIn(line) ?? caps));
  if (reply.status !== 'OK') throw commandFailed('capability', 'CAPABILITY', reply);
  return caps;
}

async function startTls(
  ctx: CheckContext,
  wire: ImapWire,
  caps: Set<string>,
  tls: Parameters<ImapWire['upgrade']>[0],
): Promise<void> {
  ctx.phases.enter('starttls');
  if (!caps.has('STARTTLS'))
    throw new ProbeError('starttls_unavailable', 'starttls', 'server does not advertise STARTTLS');
  const reply = await wire.reply(wire.send('STARTTLS'));
  if (reply.status !== 'OK') {
    throw new ProbeError('starttls_unavailable', 'starttls', `server refused STARTTLS: ${reply.status}`, {
      response: { code: reply.code ?? reply.status, text: reply.text },
    });
  }
  await wire.upgrade(tls);
}

async function login(ctx: CheckContext, wire: ImapWire, caps: Set<string>): Promise<void> {
  const { target } = ctx;
  const offers = (cap: string): boolean => caps.has(cap);
  const unsupported = (need: string): ProbeError => {
    const auth = [...caps].filter((c) => c.startsWith('AUTH=')).map((c) => c.slice(5));
    return new ProbeError(
      'auth_mechanism_unsupported',
      'auth',
      `${need} not offered (server offers ${auth.length ? auth.join(' ') : 'none'})`,
    );
  };
  let reply: TaggedReply;
  if (target.authType === 'plain') {
    if (!offers('AUTH=PLAIN')) throw unsupported('AUTH=PLAIN');
    const sasl = Buffer.from(`\0${target.username}\0${target.secret}`, 'utf8').toString('base64');
    if (caps.has('SASL-IR')) {
      reply = await wire.reply(wire.send(`AUTHENTICATE PLAIN ${sasl}`, 'AUTHENTICATE PLAIN ****'));
    } else {
      const tag = wire.send('AUTHENTICATE PLAIN');
      let answered = false;
      // One response; a second "+" gets the SASL cancel ("*") and the server's NO follows.
      reply = await wire.reply(tag, undefined, () => {
        wire.sendContinuation(answered ? '*' : sasl, answered ? '*' : '****');
        answered = true;
      });
    }
  } else {
    if (caps.has('LOGINDISABLED')) throw unsupported('LOGIN (server says LOGINDISABLED)');
    reply = await loginCommand(wire, target.username, target.secret, caps);
  }
  if (reply.status === 'OK') return;
  const code = reply.code ?? reply.status;
  const text = reply.text.replace(/\s*\(\d+\.\d+(?: \+ \d+\.\d+)* secs\)/, '') || undefined;
  const verdict = imapAuthVerdict({ code: reply.code, text });
  const said = verdict === 'auth_rejected' ? code : [code, text].filter(Boolean).join(' ');
  throw new ProbeError(verdict, 'auth', said, { response: { code, text } });
}

/**
 * LOGIN with quoted strings where possible, else literals: non-synchronising ({n+}) with
 * LITERAL+, else the command goes out in pieces, each after the server's "+" go-ahead.
 */
function loginCommand(wire: ImapWire, user: string, pass: string, caps: Set<string>): Promise<TaggedReply> {
  const nonSync = caps.has('LITERAL+');
  const pieces: string[] = [];
  let current = 'LOGIN';
  for (const value of [user, pass]) {
    const q = quoted(value);
    if (q !== undefined) {
      current += ` ${q}`;
      continue;
    }
    current += ` {${Buffer.byteLength(value, 'utf8')}${nonSync ? '+' : ''}}`;
    if (nonSync) current += `\r\n${value}`;
    else {
      pieces.push(current);
      current = value;
    }
  }
  pieces.push(current);
  const tag = wire.send(pieces[0]!, 'LOGIN ****');
  let next = 1;
  return wire.reply(tag, undefined, () => {
    const piece = pieces[next++];
    if (piece === undefined)
      throw new ProbeError('protocol_error', 'auth', 'unexpected continuation request');
    wire.sendContinuation(piece, '****');
  });
}

/** LOGOUT is courtesy: the account already proved itself, so a failed LOGOUT is only noted. */
async function logoutQuietly(ctx: CheckContext, wire: ImapWire): Promise<void> {
  try {
    await ctx.deadline.race(wire.reply(wire.send('LOGOUT')));
  } catch (err) {
    if (err instanceof ServerClosedError) return; // closed right after its BYE: a normal LOGOUT
    ctx.transcript.note(`LOGOUT did not complete (${err instanceof Error ? err.message : 'unknown error'})`);
  }
}

function commandFailed(phase: Phase, command: string, reply: TaggedReply): ProbeError {
  return new ProbeError('protocol_error', phase, `server answered ${reply.status} to ${command}`, {
    response: { code: reply.code ?? reply.status, text: reply.text },
  });
}

/** What ended the check → the catalogue, as classifyImapFailure does for imapflow's errors. */
function classify(thrown: unknown, ctx: CheckContext, receivedBytes: number | undefined): ProbeError {
  if (thrown instanceof ProbeError) return thrown;
  const phase = ctx.phases.current();
  if (thrown instanceof DeadlineError) return deadlineFailure(ctx, phase, receivedBytes, thrown);
  if (thrown instanceof ServerClosedError) {
    if (thrown.bye !== undefined && phase === 'greeting') {
      return new ProbeError('greeting_rejected', 'greeting', `BYE ${thrown.bye}`, {
        cause: thrown,
        response: { code: 'BYE', text: thrown.bye },
      });
    }
    const bye = thrown.bye ? ` (BYE ${thrown.bye})` : '';
    return new ProbeError('connection_closed', phase, `during ${phase}${bye}`, {
      cause: thrown,
      response: thrown.bye ? { code: 'BYE', text: thrown.bye } : undefined,
    });
  }
  const err = toError(thrown) as Error & { code?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const cert = certFailureCode(code);
  if (cert)
    return new ProbeError(cert, 'tls', describeCertProblem(cert, code, ctx.tls, ctx.target.host), {
      cause: err,
    });
  if (isTlsLayerError(err)) {
    // Bytes that are not TLS (a plain-text greeting, an HTTP page) fail the handshake.
    return new ProbeError('tls_handshake_failed', 'tls', err.message, { cause: err });
  }
  return (
    classifyNetworkError(err, phase) ??
    new ProbeError('internal_error', phase, `unexpected error during ${phase}`, { cause: err })
  );
}
