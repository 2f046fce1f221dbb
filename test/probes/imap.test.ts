// The IMAP probe against a real Dovecot: each security mode and auth type, the failure rows that need
// a real server (bad password, missing mailbox, unsupported mechanism, certificate problems), and the
// "connect to the resolved address, verify the host name" rule.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createImapProbe } from '../../src/probes/imap.js';
import type { ProbeTarget, Resolver } from '../../src/probes/types.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { outcome, runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const USER = 'alice';
const PASS = 'correct horse battery staple';
/** Every name resolves to loopback, so the host name can differ from the address. */
const toLoopback: Resolver = async () => '127.0.0.1';

describeWithPeer('dovecot', 'IMAP probe against Dovecot', () => {
  let good: Dovecot;
  let expired: Dovecot;
  const probe = createImapProbe();
  let handles: HandleSnapshot;

  beforeAll(async () => {
    [good, expired] = await Promise.all([
      startDovecot({ users: [{ user: USER, pass: PASS }] }),
      startDovecot({ users: [{ user: USER, pass: PASS }], cert: 'expired' }),
    ]);
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

  it.each([
    ['tls', 'imapsPort'],
    ['starttls', 'imapPort'],
    ['none', 'imapPort'],
  ] as const)('logs in, opens INBOX and logs out over %s', async (security, portKey) => {
    const { result, elapsedMs } = await runProbe(probe, target({ security, port: good[portKey] }));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    const phases = result.phases.map((p) => p.phase);
    expect(phases[0]).toBe('dns');
    expect(phases).toEqual(expect.arrayContaining(['connect', 'greeting', 'auth', 'mailbox', 'logout']));
    expect(phases.includes('starttls')).toBe(security === 'starttls');
    expect(result.phases.reduce((sum, p) => sum + p.ms, 0)).toBeLessThanOrEqual(result.durationMs + 1);
    expect(result.transcript.some((l) => l.dir === 'C' && /EXAMINE INBOX/.test(l.line))).toBe(true);
    expect(result.transcript.at(-1)?.line).toMatch(/OK Logout completed/);
    if (security === 'none') {
      expect(result.tls).toBeUndefined();
    } else {
      expect(result.tls).toMatchObject({
        protocol: expect.stringMatching(/^TLSv1\.[23]$/),
        cipher: expect.any(String),
        subject: 'CN=mailmon test valid',
        issuer: 'CN=mailmon test CA',
        authorized: true,
        authorizationError: null,
      });
      expect(result.tls?.subjectAltNames).toContain('DNS:localhost');
      expect(Date.parse(result.tls?.notAfter ?? '')).toBeGreaterThan(Date.now());
    }
    console.log(
      `IMAP ${security}: login+examine+logout ${elapsedMs.toFixed(0)} ms`,
      JSON.stringify(result.phases),
    );
  });

  it.each([
    ['password', /^\d+ AUTHENTICATE PLAIN$/],
    ['plain', /^\d+ AUTHENTICATE PLAIN$/],
    ['login', /^\d+ LOGIN \*\*\*\*$/],
  ] as const)('auth type %s uses the right command and masks it', async (authType, line) => {
    const { result } = await runProbe(probe, target({ authType }));
    expect(result.ok).toBe(true);
    expect(result.transcript.filter((l) => l.dir === 'C').map((l) => l.line)).toContainEqual(
      expect.stringMatching(line),
    );
    expect(JSON.stringify(result.transcript)).not.toContain(PASS);
  });

  it('a wrong password: auth_rejected with the server code', async () => {
    const { result } = await runProbe(probe, target({ secret: 'not the password' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'auth_rejected', phase: 'auth' });
    expect(result.reason).toBe(`IMAP login rejected: AUTHENTICATIONFAILED (127.0.0.1:${good.imapsPort})`);
    expect(result.response).toEqual({ code: 'AUTHENTICATIONFAILED', text: 'Authentication failed.' });
  });

  it('a missing mailbox: mailbox_unavailable', async () => {
    const { result } = await runProbe(probe, target({ mailbox: 'Archive' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'mailbox_unavailable', phase: 'mailbox' });
    expect(result.reason).toBe(
      `IMAP mailbox unavailable: "Archive": NO Mailbox doesn't exist: Archive. (127.0.0.1:${good.imapsPort})`,
    );
  });

  it('a mailbox name the server refuses: mailbox_unavailable with its response code', async () => {
    const { result } = await runProbe(probe, target({ mailbox: 'Archive/2019' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'mailbox_unavailable', phase: 'mailbox' });
    expect(result.response?.code).toBe('CANNOT');
  });

  it('OAuth2 against a server without XOAUTH2/OAUTHBEARER: auth_mechanism_unsupported', async () => {
    const { result } = await runProbe(probe, target({ authType: 'oauth2', secret: 'ya29.token' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'auth_mechanism_unsupported', phase: 'auth' });
    expect(result.reason).toContain(
      'AUTH=XOAUTH2 or AUTH=OAUTHBEARER not offered (server offers PLAIN LOGIN)',
    );
  });

  it('CRAM-MD5 (imapflow cannot do it): config_invalid without connecting', async () => {
    const { result } = await runProbe(probe, target({ authType: 'cram-md5' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'config_invalid', phase: 'auth' });
    expect(result.transcript).toEqual([]);
  });

  it.each([
    ['tls', 'imapsPort'],
    ['starttls', 'imapPort'],
  ] as const)(
    'an expired certificate over %s: tls_cert_expired with the date, and no credentials sent',
    async (security, portKey) => {
      const { result } = await runProbe(probe, target({ security, port: expired[portKey] }, expired));
      expect(outcome(result)).toEqual({ ok: false, code: 'tls_cert_expired', phase: 'tls' });
      expect(result.reason).toBe(
        `IMAP TLS handshake failed: certificate expired 2021-01-01 (127.0.0.1:${expired[portKey]})`,
      );
      expect(result.tls).toMatchObject({
        notAfter: '2021-01-01T00:00:00.000Z',
        authorized: false,
        authorizationError: 'CERT_HAS_EXPIRED',
      });
      expect(result.transcript.some((l) => l.dir === 'C' && /LOGIN|AUTHENTICATE/.test(l.line))).toBe(false);
    },
  );

  it('an expired certificate accepted by the account setting: ok, with the verification error in the TLS facts', async () => {
    const { result } = await runProbe(probe, target({ acceptUnverifiedCert: true }, expired));
    expect(result.ok).toBe(true);
    expect(result.tls).toMatchObject({ authorized: false, authorizationError: 'CERT_HAS_EXPIRED' });
  });

  it('a certificate from a CA the account does not trust: tls_cert_untrusted', async () => {
    const { result } = await runProbe(probe, target({ caPem: undefined }));
    expect(outcome(result)).toEqual({ ok: false, code: 'tls_cert_untrusted', phase: 'tls' });
    expect(result.reason).toContain(
      'certificate not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE), issuer CN=mailmon test CA',
    );
  });

  it('connects to the resolved address but verifies the host name (localhost is in the certificate)', async () => {
    const { result } = await runProbe(probe, target({ host: 'localhost' }), { resolve: toLoopback });
    expect(result.ok).toBe(true);
    expect(result.address).toBe('127.0.0.1');
  });

  it('a host name the certificate does not name: tls_cert_name_mismatch, although the address matches', async () => {
    const { result } = await runProbe(probe, target({ host: 'mail.example.com' }), { resolve: toLoopback });
    expect(outcome(result)).toEqual({ ok: false, code: 'tls_cert_name_mismatch', phase: 'tls' });
    expect(result.reason).toBe(
      `IMAP TLS handshake failed: certificate name mismatch: mail.example.com not in IP Address:127.0.0.1 IP Address:0:0:0:0:0:0:0:1 DNS:localhost (mail.example.com:${good.imapsPort})`,
    );
  });
});
