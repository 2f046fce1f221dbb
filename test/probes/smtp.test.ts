// The SMTP probe against a real SMTP server (npm smtp-server with real AUTH checks): security modes,
// every SASL mechanism, XOAUTH2 against a server that checks the token, the optional test send, and
// the failure rows that need a real server.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSmtpProbe } from '../../src/probes/smtp.js';
import type { ProbeTarget } from '../../src/probes/types.js';
import { certFor } from '../peers/certs.js';
import { startSmtpServer, type SmtpServerOptions, type TestSmtpServer } from '../peers/smtp.js';
import { outcome, runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const USER = 'bob@example.test';
const PASS = 'smtp pass phrase 42';
const TOKEN = 'ya29.a0-test-access-token';

describe('SMTP probe against smtp-server', () => {
  const probe = createSmtpProbe();
  const servers: TestSmtpServer[] = [];
  let handles: HandleSnapshot;

  beforeEach(() => {
    handles = snapshotHandles();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await handles.assertNoLeak();
  });

  async function serve(opts: Partial<SmtpServerOptions> = {}): Promise<TestSmtpServer> {
    const server = await startSmtpServer({ users: [{ user: USER, pass: PASS }], ...opts });
    servers.push(server);
    return server;
  }

  const target = (server: TestSmtpServer, extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
    protocol: 'smtp',
    host: '127.0.0.1',
    port: server.port,
    security: server.secure ? 'tls' : 'starttls',
    authType: 'password',
    username: USER,
    secret: PASS,
    acceptUnverifiedCert: false,
    caPem: server.caPem,
    ...extra,
  });

  it.each([false, true])(
    'EHLO, TLS (implicit: %s), AUTH and QUIT with phases and TLS facts',
    async (secure) => {
      const server = await serve({ secure });
      const { result, elapsedMs } = await runProbe(probe, target(server));
      expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
      const phases = result.phases.map((p) => p.phase);
      expect(phases).toEqual(
        secure
          ? ['dns', 'connect', 'tls', 'greeting', 'ehlo', 'auth', 'quit']
          : ['dns', 'connect', 'greeting', 'ehlo', 'starttls', 'tls', 'ehlo', 'auth', 'quit'],
      );
      expect(result.tls).toMatchObject({
        authorized: true,
        subject: 'CN=mailmon test valid',
        issuer: 'CN=mailmon test CA',
      });
      expect(result.transcript.map((l) => l.line)).toContainEqual(
        expect.stringMatching(/^AUTH PLAIN \*\*\*\*$/),
      );
      expect(server.authAttempts).toEqual([{ method: 'PLAIN', user: USER, ok: true }]);
      console.log(`SMTP secure=${secure}: ${elapsedMs.toFixed(0)} ms`, JSON.stringify(result.phases));
    },
  );

  it.each([
    ['plain', 'PLAIN'],
    ['login', 'LOGIN'],
  ] as const)('auth type %s uses AUTH %s', async (authType, method) => {
    const server = await serve();
    const { result } = await runProbe(probe, target(server, { authType }));
    expect(result.ok).toBe(true);
    expect(server.authAttempts).toEqual([{ method, user: USER, ok: true }]);
  });

  it('auth type cram-md5 against a server that checks it', async () => {
    const server = await serve({
      authMethods: ['CRAM-MD5'],
      serverOptions: {
        onAuth(auth, _session, callback) {
          const ok = auth.method === 'CRAM-MD5' && auth.username === USER && auth.validatePassword(PASS);
          callback(ok ? null : new Error('bad'), ok ? { user: USER } : undefined);
        },
      },
    });
    const { result } = await runProbe(probe, target(server, { authType: 'cram-md5' }));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(result.transcript.map((l) => l.line)).toContain('AUTH CRAM-MD5');
  });

  it('no user name: connects, greets and secures the connection without AUTH', async () => {
    const server = await serve({ authOptional: true });
    const { result } = await runProbe(probe, target(server, { username: '', secret: '' }));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(result.phases.map((p) => p.phase)).not.toContain('auth');
    expect(result.transcript.map((t) => t.line).join('\n')).not.toMatch(/^AUTH/m);
    expect(server.authAttempts).toEqual([]);
  });

  it('a wrong password: auth_rejected with 535 5.7.8', async () => {
    const server = await serve();
    const { result } = await runProbe(probe, target(server, { secret: 'wrong' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'auth_rejected', phase: 'auth' });
    expect(result.response).toEqual({ code: '535 5.7.8', text: 'Authentication credentials invalid' });
    expect(result.reason).toBe(
      `SMTP login rejected: 535 5.7.8 Authentication credentials invalid (127.0.0.1:${server.port})`,
    );
  });

  it('a mechanism the server does not offer: auth_mechanism_unsupported, nothing sent', async () => {
    const server = await serve();
    const { result } = await runProbe(probe, target(server, { authType: 'cram-md5' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'auth_mechanism_unsupported', phase: 'auth' });
    expect(result.reason).toContain('CRAM-MD5 not offered (server offers PLAIN LOGIN)');
    expect(server.authAttempts).toEqual([]);
  });

  it('AUTH on a plain connection to a server that only allows it after STARTTLS: auth_mechanism_unsupported', async () => {
    const server = await serve();
    const { result } = await runProbe(probe, target(server, { security: 'none' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'auth_mechanism_unsupported', phase: 'auth' });
    expect(result.response).toEqual({ code: '538', text: 'Error: Must issue a STARTTLS command first' });
  });

  // Lockout-safe auth (issue 11): what Microsoft 365 answers once basic auth is off says "move to OAuth".
  it.each([
    [
      535,
      '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.',
      '535 5.7.139',
    ],
    [550, '5.7.30 Basic authentication is not supported for Client Submission.', '550 5.7.30'],
  ])(
    'AUTH answered %i %s, even for the right password: basic_auth_disabled',
    async (responseCode, message, code) => {
      const server = await serve({ authFailure: { responseCode, message, refuseAll: true } });
      const { result } = await runProbe(probe, target(server));
      expect(outcome(result)).toEqual({ ok: false, code: 'basic_auth_disabled', phase: 'auth' });
      expect(result.response?.code).toBe(code);
      expect(result.reason).toMatch(
        /^SMTP password login disabled by the provider \(move the account to OAuth\)/,
      );
      expect(server.authAttempts).toEqual([{ method: 'PLAIN', user: USER, ok: false }]);
    },
  );

  it('AUTH answered 535 5.7.8 ... account locked: account_locked', async () => {
    const server = await serve({
      authFailure: {
        responseCode: 535,
        message: '5.7.8 Authentication failed: account locked',
        refuseAll: true,
      },
    });
    const { result } = await runProbe(probe, target(server));
    expect(outcome(result)).toEqual({ ok: false, code: 'account_locked', phase: 'auth' });
  });

  it('STARTTLS required but refused: starttls_unavailable', async () => {
    const server = await serve({ hideSTARTTLS: true, disabledCommands: ['STARTTLS'] });
    const { result } = await runProbe(probe, target(server));
    expect(outcome(result)).toEqual({ ok: false, code: 'starttls_unavailable', phase: 'starttls' });
    expect(result.reason).toMatch(/^SMTP STARTTLS not available: server refused STARTTLS: 5\d\d/);
  });

  describe('XOAUTH2 against a server that checks the token', () => {
    it('the right token: ok, token masked', async () => {
      const server = await serve({ oauthTokens: { [USER]: TOKEN } });
      const { result } = await runProbe(probe, target(server, { authType: 'oauth2', secret: TOKEN }));
      expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
      expect(server.authAttempts).toEqual([{ method: 'XOAUTH2', user: USER, ok: true }]);
      expect(result.transcript.map((l) => l.line)).toContain('AUTH XOAUTH2 ****');
    });

    it('a wrong token: auth_rejected with the final 535, one attempt only', async () => {
      const server = await serve({ oauthTokens: { [USER]: TOKEN } });
      const { result } = await runProbe(
        probe,
        target(server, { authType: 'oauth2', secret: 'ya29.expired' }),
      );
      expect(outcome(result)).toEqual({ ok: false, code: 'auth_rejected', phase: 'auth' });
      expect(result.response?.code).toMatch(/^535/);
      expect(server.authAttempts).toEqual([{ method: 'XOAUTH2', user: USER, ok: false }]);
      expect(JSON.stringify(result.transcript)).not.toContain('ya29.expired');
    });

    it('a server without XOAUTH2: auth_mechanism_unsupported', async () => {
      const server = await serve();
      const { result } = await runProbe(probe, target(server, { authType: 'oauth2', secret: TOKEN }));
      expect(outcome(result)).toEqual({ ok: false, code: 'auth_mechanism_unsupported', phase: 'auth' });
    });
  });

  describe('optional test send', () => {
    it('sends one clearly marked message from the account address', async () => {
      const server = await serve();
      const { result } = await runProbe(
        probe,
        target(server, { emailAddress: USER, testSend: { to: 'ops@example.test' } }),
      );
      expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
      expect(result.phases.map((p) => p.phase)).toEqual(
        expect.arrayContaining(['mail-from', 'rcpt', 'data', 'quit']),
      );
      expect(server.messages).toHaveLength(1);
      expect(server.messages[0]).toMatchObject({ from: USER, to: ['ops@example.test'], user: USER });
      expect(server.messages[0]?.data).toMatch(/^Subject: \[mailmon\] SMTP test message /m);
      expect(server.messages[0]?.data).toMatch(/^Auto-Submitted: auto-generated/m);
    });

    it('a refused recipient: send_rejected in rcpt with the reply', async () => {
      const server = await serve({
        serverOptions: {
          onRcptTo(_address, _session, callback) {
            callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
          },
        },
      });
      const { result } = await runProbe(
        probe,
        target(server, { emailAddress: USER, testSend: { to: 'nobody@example.test' } }),
      );
      expect(outcome(result)).toEqual({ ok: false, code: 'send_rejected', phase: 'rcpt' });
      expect(result.response).toEqual({ code: '550 5.1.1', text: 'No such user here' });
      expect(server.messages).toHaveLength(0);
    });

    it('no sender address: config_invalid before connecting', async () => {
      const server = await serve();
      const { result } = await runProbe(probe, target(server, { testSend: { to: 'ops@example.test' } }));
      expect(outcome(result)).toEqual({ ok: false, code: 'config_invalid', phase: 'mail-from' });
      expect(result.transcript).toEqual([]);
    });
  });

  describe('certificate problems', () => {
    it('expired, via STARTTLS: tls_cert_expired, no AUTH sent', async () => {
      const server = await serve({ cert: 'expired' });
      const { result } = await runProbe(probe, target(server));
      expect(outcome(result)).toEqual({ ok: false, code: 'tls_cert_expired', phase: 'tls' });
      expect(result.reason).toBe(
        `SMTP TLS handshake failed: certificate expired 2021-01-01 (127.0.0.1:${server.port})`,
      );
      expect(server.authAttempts).toEqual([]);
    });

    it('self-signed, implicit TLS: tls_cert_self_signed', async () => {
      const server = await serve({ cert: 'selfsigned', secure: true });
      const { caPem } = await certFor('valid');
      const { result } = await runProbe(probe, target(server, { caPem }));
      expect(outcome(result)).toEqual({ ok: false, code: 'tls_cert_self_signed', phase: 'tls' });
      expect(result.reason).toContain('self-signed certificate (CN=mailmon test selfsigned)');
      expect(result.tls).toMatchObject({
        authorized: false,
        authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      });
    });

    it('wrong name: tls_cert_name_mismatch', async () => {
      const server = await serve({ cert: 'wrongname', secure: true });
      const { result } = await runProbe(probe, target(server));
      expect(outcome(result)).toEqual({ ok: false, code: 'tls_cert_name_mismatch', phase: 'tls' });
      expect(result.reason).toContain('certificate name mismatch: 127.0.0.1 not in DNS:wrong.example');
    });
  });
});
