// The lean IMAP probe (probes.imap.mode: login) against a real Dovecot and the misbehaving servers:
// it sends only LOGIN and LOGOUT where the greeting carries the capabilities, and every failure
// gets the code the full (imapflow) probe gives for the same server.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createImapProbe } from '../../src/probes/imap.js';
import { createImapLoginProbe } from '../../src/probes/imap-login.js';
import type { Probe, ProbeResult, ProbeTarget } from '../../src/probes/types.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import {
  closedPort,
  startMisbehaving,
  type Misbehaviour,
  type MisbehavingOptions,
} from '../peers/misbehaving.js';
import { certFor } from '../peers/certs.js';
import { describeWithPeer } from '../peers/require.js';
import { outcome, runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const USER = 'alice';
const PASS = 'correct horse battery staple';
/** Not quotable in IMAP: goes out as a literal. */
const ODD_USER = 'bob';
const ODD_PASS = 'pässwörd "quoted" \\ back';
/** Disabled in Dovecot's passdb (`nologin`): Dovecot answers NO [CONTACTADMIN] (RFC 5530). */
const LOCKED_USER = 'carol';
const LOCKED_PASS = 'right password, locked account';
const full = createImapProbe();
const lean = createImapLoginProbe({ full });

const clientCommands = (r: ProbeResult): string[] =>
  r.transcript.filter((l) => l.dir === 'C' && /^a\d+ /.test(l.line)).map((l) => l.line.split(' ')[1]!);

describeWithPeer('dovecot', 'lean IMAP probe against Dovecot', () => {
  let good: Dovecot;
  let expired: Dovecot;
  let handles: HandleSnapshot;

  beforeAll(async () => {
    const users = [
      { user: USER, pass: PASS },
      { user: ODD_USER, pass: ODD_PASS },
      { user: LOCKED_USER, pass: LOCKED_PASS, extra: 'nologin reason=Account_locked_by_the_admin' },
    ];
    [good, expired] = await Promise.all([startDovecot({ users }), startDovecot({ users, cert: 'expired' })]);
  });
  afterAll(async () => {
    await Promise.all([good?.stop(), expired?.stop()]);
  });
  beforeEach(() => {
    handles = snapshotHandles();
  });
  afterEach(async () => {
    await handles.assertNoLeak();
  });

  const target = (extra: Partial<ProbeTarget> = {}, server = good): ProbeTarget => ({
    protocol: 'imap',
    host: '127.0.0.1',
    port: server.imapsPort,
    security: 'tls',
    authType: 'password',
    username: USER,
    secret: PASS,
    acceptUnverifiedCert: false,
    caPem: server.caPem,
    ...extra,
  });

  it('over implicit TLS sends LOGIN and LOGOUT and nothing else', async () => {
    const { result } = await runProbe(lean, target());
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(clientCommands(result)).toEqual(['LOGIN', 'LOGOUT']);
    expect(result.phases.map((p) => p.phase)).toEqual([
      'dns',
      'connect',
      'tls',
      'greeting',
      'auth',
      'logout',
    ]);
    expect(result.tls).toMatchObject({ authorized: true, protocol: expect.stringMatching(/^TLSv1\.[23]$/) });
    expect(JSON.stringify(result)).not.toContain(PASS);
    expect(result.transcript.find((l) => l.dir === 'C')?.line).toBe('a1 LOGIN ****');
  });

  it.each([
    ['starttls', ['STARTTLS', 'CAPABILITY', 'LOGIN', 'LOGOUT']],
    ['none', ['LOGIN', 'LOGOUT']],
  ] as const)('over %s logs in', async (security, commands) => {
    const { result } = await runProbe(lean, target({ security, port: good.imapPort }));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(clientCommands(result)).toEqual(commands);
    expect(result.tls === undefined).toBe(security === 'none');
  });

  it('AUTHENTICATE PLAIN (SASL-IR) when the account asks for plain', async () => {
    const { result } = await runProbe(lean, target({ authType: 'plain' }));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(clientCommands(result)).toEqual(['AUTHENTICATE', 'LOGOUT']);
    expect(JSON.stringify(result)).not.toContain(Buffer.from(`\0${USER}\0${PASS}`).toString('base64'));
  });

  it('a password IMAP cannot quote goes out as a literal', async () => {
    const { result } = await runProbe(lean, target({ username: ODD_USER, secret: ODD_PASS }));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(JSON.stringify(result)).not.toContain('pässwörd');
  });

  it('a wrong password: auth_rejected with the same reason and response as the full probe', async () => {
    const [{ result: l }, { result: f }] = await Promise.all([
      runProbe(lean, target({ secret: 'wrong' })),
      runProbe(full, target({ secret: 'wrong' })),
    ]);
    expect(outcome(l)).toEqual({ ok: false, code: 'auth_rejected', phase: 'auth' });
    expect(l.reason).toBe(f.reason);
    expect(l.response).toEqual(f.response);
    expect(l.response?.code).toBe('AUTHENTICATIONFAILED');
  });

  it('a locked account (passdb nologin, NO [CONTACTADMIN]): account_locked from both probes', async () => {
    const t = target({ username: LOCKED_USER, secret: LOCKED_PASS });
    const [{ result: l }, { result: f }] = await Promise.all([runProbe(lean, t), runProbe(full, t)]);
    expect(outcome(l)).toEqual({ ok: false, code: 'account_locked', phase: 'auth' });
    expect(outcome(f)).toEqual(outcome(l));
    expect(l.reason).toBe(f.reason);
    expect(l.response?.code).toBe('CONTACTADMIN');
    expect(l.reason).toMatch(
      /^IMAP account locked or disabled \(an admin must unlock it\): CONTACTADMIN Account_locked_by_the_admin/,
    );
  });

  it('an expired certificate: tls_cert_expired, as the full probe says, before any credential is sent', async () => {
    const t = target({}, expired);
    const [{ result: l }, { result: f }] = await Promise.all([runProbe(lean, t), runProbe(full, t)]);
    expect(outcome(l)).toEqual({ ok: false, code: 'tls_cert_expired', phase: 'tls' });
    expect(l.reason).toBe(f.reason);
    expect(clientCommands(l)).toEqual([]);
  });
});

describe("lean IMAP probe against misbehaving servers: the full probe's codes", () => {
  const stops: Array<() => Promise<void>> = [];
  let handles: HandleSnapshot;
  beforeEach(() => {
    handles = snapshotHandles();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await handles.assertNoLeak();
  });

  async function serve(kind: Misbehaviour, opts: Partial<MisbehavingOptions> = {}): Promise<number> {
    const server = await startMisbehaving(kind, { protocol: 'imap', ...opts });
    stops.push(() => server.close());
    return server.port;
  }
  const target = (port: number, extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
    protocol: 'imap',
    host: '127.0.0.1',
    port,
    security: 'none',
    authType: 'password',
    username: 'user',
    secret: 'pw',
    acceptUnverifiedCert: false,
    ...extra,
  });
  const both = async (t: ProbeTarget, timeoutMs: number): Promise<[ProbeResult, ProbeResult]> => {
    const [l, f] = await Promise.all([runProbe(lean, t, { timeoutMs }), runProbe(full, t, { timeoutMs })]);
    return [l.result, f.result];
  };

  it.each<[Misbehaviour, Partial<ProbeTarget>, string, string, number]>([
    ['silent', {}, 'greeting_timeout', 'greeting', 400],
    ['greet-then-hang', {}, 'deadline_exceeded', 'capability', 400],
    ['close-after-greeting', {}, 'connection_closed', 'capability', 1000],
    ['reject-greeting', {}, 'greeting_rejected', 'greeting', 1000],
    ['drip', {}, 'greeting_timeout', 'greeting', 400],
    ['garbage', {}, 'protocol_error', 'greeting', 1000],
    ['garbage', { security: 'tls' }, 'tls_handshake_failed', 'tls', 1000],
    ['no-starttls', { security: 'starttls' }, 'starttls_unavailable', 'starttls', 1000],
    ['minimal', { secret: 'nope' }, 'auth_rejected', 'auth', 1000],
  ])('%s %o: %s in %s', async (kind, extra, code, phase, timeoutMs) => {
    const port = await serve(kind, kind === 'drip' ? { dripMs: 50 } : {});
    const [l, f] = await both(target(port, extra), timeoutMs);
    expect(outcome(l)).toEqual({ ok: false, code, phase });
    expect(l.code).toBe(f.code);
    expect(l.reason).toBe(f.reason);
  });

  it('a minimal server without capabilities in its greeting: asks CAPABILITY, then LOGIN', async () => {
    const [l, f] = await both(target(await serve('minimal')), 1000);
    expect(outcome(l)).toEqual({ ok: true, code: null, phase: null });
    expect(outcome(f).ok).toBe(true);
    expect(clientCommands(l)).toEqual(['CAPABILITY', 'LOGIN', 'LOGOUT']);
  });

  it('a self-signed certificate: tls_cert_self_signed, like the full probe', async () => {
    const certs = await certFor('selfsigned');
    const port = await serve('minimal', { tls: { certPem: certs.certPem, keyPem: certs.keyPem } });
    const [l, f] = await both(target(port, { security: 'tls' }), 1000);
    expect(outcome(l)).toEqual({ ok: false, code: 'tls_cert_self_signed', phase: 'tls' });
    expect(l.reason).toBe(f.reason);
  });

  it('nothing listening: connection_refused', async () => {
    const [l, f] = await both(target(await closedPort()), 1000);
    expect(outcome(l)).toEqual({ ok: false, code: 'connection_refused', phase: 'connect' });
    expect(l.reason).toBe(f.reason);
  });

  it('OAuth2 accounts go to the full probe', async () => {
    const seen: ProbeTarget[] = [];
    const fullStub: Probe = {
      protocol: 'imap',
      run: async (t) => {
        seen.push(t);
        return {
          protocol: 'imap',
          ok: true,
          code: null,
          phase: null,
          reason: null,
          durationMs: 0,
          phases: [],
          transcript: [],
        };
      },
    };
    const probe = createImapLoginProbe({ full: fullStub });
    const { result } = await runProbe(probe, target(1, { authType: 'oauth2', secret: 'token' }));
    expect(result.ok).toBe(true);
    expect(seen).toHaveLength(1);
  });
});
