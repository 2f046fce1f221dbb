// Pure mapping of the libraries' own errors (timeouts above all) to the catalogue, with the
// original kept as cause, and the reason sentence's format and bound.
import { afterEach, describe, expect, it } from 'vitest';
import {
  createCheckContext,
  formatReason,
  MAX_REASON_CHARS,
  type CheckContext,
} from '../../src/probes/context.js';
import type { Phase } from '../../src/probes/errors.js';
import { classifyImapFailure } from '../../src/probes/imap-errors.js';
import { classifySmtpFailure, parseReply } from '../../src/probes/smtp-errors.js';
import type { ProbeTarget, Protocol } from '../../src/probes/types.js';

const target = (protocol: Protocol): ProbeTarget => ({
  protocol,
  host: 'mail.example.com',
  port: protocol === 'imap' ? 993 : 587,
  security: 'tls',
  authType: 'password',
  username: 'u',
  secret: 'pw',
  acceptUnverifiedCert: false,
});

const contexts: CheckContext[] = [];
function contextIn(protocol: Protocol, phase: Phase): CheckContext {
  const ctx = createCheckContext(
    target(protocol),
    { signal: new AbortController().signal, timeoutMs: 10_000 },
    () => performance.now(),
  );
  ctx.phases.enter(phase);
  contexts.push(ctx);
  return ctx;
}
afterEach(() => {
  for (const ctx of contexts.splice(0)) ctx.dispose();
});

const err = (message: string, props: Record<string, unknown>): Error =>
  Object.assign(new Error(message), props);

describe('imapflow errors', () => {
  it.each([
    ['CONNECT_TIMEOUT', 'connect', 'connect_timeout', 'connect'],
    ['GREETING_TIMEOUT', 'greeting', 'greeting_timeout', 'greeting'],
    ['UPGRADE_TIMEOUT', 'tls', 'deadline_exceeded', 'tls'],
    ['ETIMEOUT', 'auth', 'deadline_exceeded', 'auth'],
    ['ECONNREFUSED', 'connect', 'connection_refused', 'connect'],
    ['ECONNRESET', 'auth', 'connection_closed', 'auth'],
    ['EHOSTUNREACH', 'connect', 'network_error', 'connect'],
    ['ParserError11', 'capability', 'protocol_error', 'capability'],
    ['CERT_HAS_EXPIRED', 'tls', 'tls_cert_expired', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls', 'tls_cert_self_signed', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls', 'tls_cert_name_mismatch', 'tls'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls', 'tls_cert_untrusted', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls', 'tls_handshake_failed', 'tls'],
  ] as const)('%s in %s → %s / %s, original kept as cause', (code, phase, expected, expectedPhase) => {
    const original = err('library says no', { code });
    const result = classifyImapFailure(original, contextIn('imap', phase), {
      capabilities: undefined,
      receivedBytes: undefined,
    });
    expect({ code: result.code, phase: result.phase }).toEqual({ code: expected, phase: expectedPhase });
    expect(result.cause).toBe(original);
  });

  it('LOGINDISABLED: auth_mechanism_unsupported', () => {
    const result = classifyImapFailure(
      err('Login is disabled', { authenticationFailed: true }),
      contextIn('imap', 'auth'),
      {
        capabilities: new Set(['IMAP4rev1', 'LOGINDISABLED']),
        receivedBytes: 0,
      },
    );
    expect(result.code).toBe('auth_mechanism_unsupported');
  });

  it('an error nobody expected: internal_error, not a guess', () => {
    const result = classifyImapFailure(new RangeError('bug'), contextIn('imap', 'auth'), {
      capabilities: undefined,
      receivedBytes: 0,
    });
    expect({ code: result.code, phase: result.phase }).toEqual({ code: 'internal_error', phase: 'auth' });
  });
});

describe('nodemailer errors', () => {
  it.each([
    ['CONNECT_TIMEOUT', 'connect', 'connect_timeout', 'connect'],
    ['GREETING_TIMEOUT', 'greeting', 'greeting_timeout', 'greeting'],
    ['UPGRADE_TIMEOUT', 'tls', 'deadline_exceeded', 'tls'],
    ['SOCKET_TIMEOUT', 'auth', 'deadline_exceeded', 'auth'],
  ] as const)('ETIMEDOUT (%s) in %s → %s / %s', (timeoutType, phase, expected, expectedPhase) => {
    const original = err('Timeout', { code: 'ETIMEDOUT', timeoutType, command: 'CONN' });
    const result = classifySmtpFailure(original, contextIn('smtp', phase), { receivedBytes: undefined });
    expect({ code: result.code, phase: result.phase }).toEqual({ code: expected, phase: expectedPhase });
    expect(result.cause).toBe(original);
  });

  it.each([
    ['ESOCKET', 'ECONNREFUSED', 'connection_refused'],
    ['ESOCKET', 'CERT_HAS_EXPIRED', 'tls_cert_expired'],
    ['EDNS', 'ENOTFOUND', 'dns_not_found'],
  ] as const)('%s wrapping %s → %s', (code, originalCode, expected) => {
    const result = classifySmtpFailure(
      err('x', { code, originalCode, command: 'CONN' }),
      contextIn('smtp', 'connect'),
      { receivedBytes: 0 },
    );
    expect(result.code).toBe(expected);
  });

  it('EAUTH 504 (mechanism unknown) is auth_mechanism_unsupported; 535 is auth_rejected', () => {
    const ctx = contextIn('smtp', 'auth');
    const unknown = err('Invalid login', {
      code: 'EAUTH',
      responseCode: 504,
      response: '504 5.5.4 Unrecognized authentication type',
      command: 'AUTH PLAIN',
    });
    const refused = err('Invalid login', {
      code: 'EAUTH',
      responseCode: 535,
      response: '535 5.7.8 bad',
      command: 'AUTH PLAIN',
    });
    expect(classifySmtpFailure(unknown, ctx, { receivedBytes: 0 }).code).toBe('auth_mechanism_unsupported');
    expect(classifySmtpFailure(refused, ctx, { receivedBytes: 0 })).toMatchObject({
      code: 'auth_rejected',
      response: { code: '535 5.7.8', text: 'bad' },
    });
  });
});

describe('SMTP replies', () => {
  it.each([
    ['535 5.7.8 Authentication failed', { code: '535 5.7.8', text: 'Authentication failed' }],
    ['421 Too busy', { code: '421', text: 'Too busy' }],
    ['250-first\n250 second', { code: '250', text: 'first second' }],
    ['garbage', { text: 'garbage' }],
  ])('%j', (reply, expected) => {
    expect(parseReply(reply)).toEqual(expected);
  });
});

describe('reason sentence', () => {
  it('names protocol, summary, detail and host:port', () => {
    expect(formatReason(target('imap'), 'auth_rejected', 'AUTHENTICATIONFAILED')).toBe(
      'IMAP login rejected: AUTHENTICATIONFAILED (mail.example.com:993)',
    );
  });

  it(`never exceeds ${MAX_REASON_CHARS} characters and keeps host:port`, () => {
    const long = { ...target('smtp'), host: `${'a'.repeat(200)}.example.com` };
    const reason = formatReason(long, 'send_rejected', 'x'.repeat(1000));
    expect(reason.length).toBeLessThanOrEqual(MAX_REASON_CHARS);
    expect(reason.endsWith(':587)')).toBe(true);
  });
});

describe('failureResult (a failure outside a probe run, e.g. an OAuth2 refresh)', () => {
  it('becomes a ProbeResult with the catalogue code and a scrubbed cause', async () => {
    const { failureResult } = await import('../../src/probes/context.js');
    const { ProbeError } = await import('../../src/probes/errors.js');
    const t = { ...target('imap'), authType: 'oauth2' as const, secret: 'ya29.old-access-token' };
    const cause = new Error('endpoint said ya29.old-access-token is bad');
    const result = failureResult(
      t,
      new ProbeError(
        'oauth_token_refresh_failed',
        'auth',
        'token endpoint answered HTTP 400: invalid_grant',
        { cause },
      ),
    );
    expect(result).toMatchObject({
      ok: false,
      code: 'oauth_token_refresh_failed',
      phase: 'auth',
      reason:
        'IMAP OAuth2 token refresh failed: token endpoint answered HTTP 400: invalid_grant (mail.example.com:993)',
      transcript: [],
    });
    expect(result.cause?.message).toBe('endpoint said **** is bad');
  });
});
