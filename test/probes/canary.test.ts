// A unique canary password is refused by real servers over every mechanism that carries it; the
// whole ProbeResult, cause chain included, must hold no trace of it in any encoding.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createImapProbe } from '../../src/probes/imap.js';
import { createImapLoginProbe } from '../../src/probes/imap-login.js';
import { createSmtpProbe } from '../../src/probes/smtp.js';
import type { AuthType, ProbeResult } from '../../src/probes/types.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startMisbehaving } from '../peers/misbehaving.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const USER = 'carol@example.test';
// Unicode and JSON-special characters, so escaped spellings are covered too.
const CANARY = `canary-${randomUUID()}-Pässwörd"\\`;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Every spelling of a canary that must not appear. */
const forbidden = (canary: string): string[] => [
  canary,
  JSON.stringify(canary).slice(1, -1),
  encodeURIComponent(canary),
  b64(canary),
  b64(`\u0000${USER}\u0000${canary}`),
  b64(`${USER}\u0000${USER}\u0000${canary}`),
  b64(`user=${USER}\u0001auth=Bearer ${canary}\u0001\u0001`),
  // The canary's distinctive middle, in case something printed part of it.
  canary.slice(7, 43),
];
const FORBIDDEN = forbidden(CANARY);

/** JSON of the result with every Error expanded (message, stack, own properties, cause). */
function serialize(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    if (v instanceof Error) {
      const out: Record<string, unknown> = {
        name: v.name,
        message: v.message,
        stack: v.stack,
        cause: v.cause,
      };
      for (const key of Object.getOwnPropertyNames(v))
        out[key] = (v as unknown as Record<string, unknown>)[key];
      return out;
    }
    return v;
  });
}

function expectNoTrace(result: ProbeResult, forms = FORBIDDEN): void {
  const text = serialize(result);
  for (const form of forms) expect(text, `found ${JSON.stringify(form)}`).not.toContain(form);
}

describe('canary check of the serialiser itself', () => {
  it('finds the canary in a cause, so the assertions below can fail', () => {
    const planted = {
      ok: false,
      cause: new Error('x', { cause: Object.assign(new Error('y'), { response: b64(CANARY) }) }),
    };
    expect(() => expectNoTrace(planted as unknown as ProbeResult)).toThrow();
  });
});

describeWithPeer('dovecot', 'canary password: failed IMAP logins leave no trace', () => {
  let dovecot: Dovecot;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [{ user: USER, pass: 'the real password' }] });
  });
  afterAll(async () => {
    await dovecot?.stop();
  });

  // Both IMAP clients: imapflow (full mode) and the lean probe (probes.imap.mode: login), whose
  // LOGIN carries this non-ASCII canary as a literal.
  it.each<[string, AuthType]>([
    ['full', 'password'],
    ['full', 'plain'],
    ['full', 'login'],
    ['lean', 'password'],
    ['lean', 'plain'],
    ['lean', 'login'],
  ])('%s probe, auth type %s', async (mode, authType) => {
    const probe = mode === 'lean' ? createImapLoginProbe({ full: createImapProbe() }) : createImapProbe();
    const { result } = await runProbe(probe, {
      protocol: 'imap',
      host: '127.0.0.1',
      port: dovecot.imapPort,
      security: 'none', // plain text: the server side sees the canary, the result must not
      authType,
      username: USER,
      secret: CANARY,
      acceptUnverifiedCert: false,
    });
    expect(result.code).toBe('auth_rejected');
    expect(result.transcript.some((l) => l.dir === 'C' && /(LOGIN|AUTHENTICATE)/.test(l.line))).toBe(true);
    expectNoTrace(result);
  });
});

describe('canary password: failed SMTP logins leave no trace', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer({
      users: [{ user: USER, pass: 'the real password' }],
      oauthTokens: { [USER]: 'the real token' },
      authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each<AuthType>(['plain', 'login', 'oauth2'])('auth type %s', async (authType) => {
    const { result } = await runProbe(createSmtpProbe(), {
      protocol: 'smtp',
      host: '127.0.0.1',
      port: server.port,
      security: 'starttls',
      authType,
      username: USER,
      secret: CANARY,
      acceptUnverifiedCert: false,
      caPem: server.caPem,
    });
    expect(result.code).toBe('auth_rejected');
    expect(result.transcript.some((l) => l.dir === 'C' && /^AUTH /.test(l.line))).toBe(true);
    expectNoTrace(result);
  });
});

describe('canary password: a server that quotes the refused password back', () => {
  // ASCII only: the small test server does not speak IMAP literals.
  const ECHO_CANARY = `canary-${randomUUID()}`;

  it.each(['imap', 'smtp'] as const)(
    '%s: the echo is masked in response, reason, transcript and cause',
    async (protocol) => {
      const server = await startMisbehaving('minimal', {
        protocol,
        echoCredentials: true,
        password: 'the real password',
      });
      try {
        const probe = protocol === 'imap' ? createImapProbe() : createSmtpProbe();
        const { result } = await runProbe(probe, {
          protocol,
          host: '127.0.0.1',
          port: server.port,
          security: 'none',
          authType: protocol === 'imap' ? 'login' : 'plain',
          username: USER,
          secret: ECHO_CANARY,
          acceptUnverifiedCert: false,
        });
        expect(result.code).toBe('auth_rejected');
        // The server did quote it (masked), so this test exercises the scrubber.
        expect(
          result.transcript.some((l) => l.dir === 'S' && l.line.includes('for password "****" (****)')),
        ).toBe(true);
        expectNoTrace(result, forbidden(ECHO_CANARY));
      } finally {
        await server.close();
      }
    },
  );
});

// Every failed login above must also leave nothing open.
let handles: HandleSnapshot;
beforeEach(() => {
  handles = snapshotHandles();
});
afterEach(async () => {
  await handles.assertNoLeak();
});
