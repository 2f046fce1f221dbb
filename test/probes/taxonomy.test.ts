// The failure taxonomy against small misbehaving servers: every row shows code, phase and reason,
// comes back within the deadline plus one second, and leaves no socket or timer behind.
import { lookup } from 'node:dns/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProbeError } from '../../src/probes/errors.js';
import { createImapProbe } from '../../src/probes/imap.js';
import { createSmtpProbe } from '../../src/probes/smtp.js';
import type { Protocol, ProbeTarget } from '../../src/probes/types.js';
import { certFor } from '../peers/certs.js';
import {
  closedPort,
  startBlackhole,
  startMisbehaving,
  type Misbehaviour,
  type MisbehavingOptions,
} from '../peers/misbehaving.js';
import { outcome, runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const TIMEOUT_MS = 1_000;
/** For rows that can only end by the deadline: short, so the suite stays fast. */
const SHORT_MS = 400;

describe.each<Protocol>(['imap', 'smtp'])(
  '%s probe: failure taxonomy against misbehaving servers',
  (protocol) => {
    const probe = protocol === 'imap' ? createImapProbe() : createSmtpProbe();
    const P = protocol.toUpperCase();
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
      const server = await startMisbehaving(kind, { protocol, ...opts });
      stops.push(() => server.close());
      return server.port;
    }

    const target = (port: number, extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
      protocol,
      host: '127.0.0.1',
      port,
      security: 'none',
      authType: 'password',
      username: 'user',
      secret: 'pw',
      acceptUnverifiedCert: false,
      ...extra,
    });

    it('a server that never greets: greeting_timeout', async () => {
      const { result } = await runProbe(probe, target(await serve('silent')), { timeoutMs: SHORT_MS });
      expect(outcome(result)).toEqual({ ok: false, code: 'greeting_timeout', phase: 'greeting' });
      expect(result.reason).toMatch(
        new RegExp(
          `^${P} no greeting from server: server accepted the connection but sent nothing within 400 ms \\(127\\.0\\.0\\.1:\\d+\\)$`,
        ),
      );
    });

    it('a server that greets and then hangs: deadline_exceeded after the greeting', async () => {
      const { result } = await runProbe(probe, target(await serve('greet-then-hang')), {
        timeoutMs: SHORT_MS,
      });
      const phase = protocol === 'imap' ? 'capability' : 'ehlo';
      expect(outcome(result)).toEqual({ ok: false, code: 'deadline_exceeded', phase });
      expect(result.reason).toContain(`${P} check timed out: 400 ms deadline passed during ${phase}`);
      expect(result.transcript.some((l) => l.dir === 'S')).toBe(true);
    });

    it('a server that closes after the greeting: connection_closed', async () => {
      const { result } = await runProbe(probe, target(await serve('close-after-greeting')), {
        timeoutMs: TIMEOUT_MS,
      });
      const phase = protocol === 'imap' ? 'capability' : 'ehlo';
      expect(outcome(result)).toEqual({ ok: false, code: 'connection_closed', phase });
      expect(result.reason).toContain(`${P} server closed the connection`);
    });

    it('a server that refuses at the greeting (421 / BYE): greeting_rejected', async () => {
      const { result } = await runProbe(probe, target(await serve('reject-greeting')), {
        timeoutMs: TIMEOUT_MS,
      });
      expect(outcome(result)).toEqual({ ok: false, code: 'greeting_rejected', phase: 'greeting' });
      if (protocol === 'smtp') {
        expect(result.response).toEqual({ code: '421 4.3.2', text: 'Too busy, try again later' });
        expect(result.reason).toMatch(
          /^SMTP greeting rejected: 421 4\.3\.2 Too busy, try again later \(127\.0\.0\.1:\d+\)$/,
        );
      } else {
        expect(result.response).toEqual({ code: 'BYE', text: 'Too many connections from your IP' });
        expect(result.reason).toContain('IMAP greeting rejected: BYE Too many connections from your IP');
      }
    });

    it('bytes dripped slowly, never a whole greeting: greeting_timeout naming the bytes', async () => {
      const { result } = await runProbe(probe, target(await serve('drip', { dripMs: 50 })), {
        timeoutMs: SHORT_MS,
      });
      expect(outcome(result)).toEqual({ ok: false, code: 'greeting_timeout', phase: 'greeting' });
      expect(result.reason).toMatch(/no greeting from server: only \d+ bytes of a greeting within 400 ms/);
    });

    it('garbage instead of TLS: tls_handshake_failed', async () => {
      const port = await serve('garbage');
      const { result } = await runProbe(probe, target(port, { security: 'tls' }), { timeoutMs: TIMEOUT_MS });
      expect(outcome(result)).toEqual({ ok: false, code: 'tls_handshake_failed', phase: 'tls' });
      expect(result.reason).toMatch(new RegExp(`^${P} TLS handshake failed: .*wrong version number`));
    });

    it('garbage instead of a greeting on a plain connection: protocol_error', async () => {
      const { result } = await runProbe(probe, target(await serve('garbage')), { timeoutMs: TIMEOUT_MS });
      expect(outcome(result)).toEqual({ ok: false, code: 'protocol_error', phase: 'greeting' });
      expect(result.response?.text).toBe('HTTP/1.1 400 Bad Request');
      expect(result.reason).toMatch(
        new RegExp(
          `^${P} protocol error: (server did not send an IMAP greeting|greeting is not an SMTP 220 reply)`,
        ),
      );
    });

    it('STARTTLS required but not offered: starttls_unavailable', async () => {
      const port = await serve('no-starttls');
      const { result } = await runProbe(probe, target(port, { security: 'starttls' }), {
        timeoutMs: TIMEOUT_MS,
      });
      expect(outcome(result)).toEqual({ ok: false, code: 'starttls_unavailable', phase: 'starttls' });
      expect(result.reason).toContain(`${P} STARTTLS not available`);
    });

    it('a small correct server (multi-line SMTP greeting without "ESMTP"; IMAP greeting without capabilities) passes', async () => {
      const { result } = await runProbe(probe, target(await serve('minimal')), { timeoutMs: TIMEOUT_MS });
      expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
      expect(result.reason).toBeNull();
    });

    it('the same server over implicit TLS passes, with TLS facts', async () => {
      const cert = await certFor('valid');
      const port = await serve('minimal', { tls: cert });
      const { result } = await runProbe(probe, target(port, { security: 'tls', caPem: cert.caPem }), {
        timeoutMs: TIMEOUT_MS,
      });
      expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
      expect(result.tls).toMatchObject({
        protocol: 'TLSv1.3',
        authorized: true,
        authorizationError: null,
        subject: 'CN=mailmon test valid',
      });
    });

    it('a closed port: connection_refused', async () => {
      const { result } = await runProbe(probe, target(await closedPort()), { timeoutMs: TIMEOUT_MS });
      expect(outcome(result)).toEqual({ ok: false, code: 'connection_refused', phase: 'connect' });
      expect(result.reason).toMatch(
        new RegExp(`^${P} connection refused: nothing listens on that port \\(127\\.0\\.0\\.1:\\d+\\)$`),
      );
    });

    it('a port where TCP connect hangs: connect_timeout', async () => {
      const hole = await startBlackhole();
      stops.push(() => hole.close());
      const { result } = await runProbe(probe, target(hole.port), { timeoutMs: SHORT_MS });
      expect(outcome(result)).toEqual({ ok: false, code: 'connect_timeout', phase: 'connect' });
      expect(result.reason).toContain(`${P} TCP connect timed out: no TCP connection within 400 ms`);
    });

    it('a name that does not resolve (resolver throws ENOTFOUND like dns does): dns_not_found', async () => {
      const resolve = (host: string): Promise<string> =>
        Promise.reject(
          Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host }),
        );
      const { result } = await runProbe(probe, target(25, { host: 'mail.example.invalid' }), {
        timeoutMs: TIMEOUT_MS,
        resolve,
      });
      expect(outcome(result)).toEqual({ ok: false, code: 'dns_not_found', phase: 'dns' });
      expect(result.reason).toBe(
        `${P} host name not found: host name not found (ENOTFOUND) (mail.example.invalid:25)`,
      );
    });

    it('a .invalid name through the system resolver (one real lookup): classified in dns', async () => {
      // What this machine's resolver says decides the expectation: NXDOMAIN, or no DNS at all.
      const said = await lookup('mailmon-probe-test.invalid').then(
        () => 'resolved',
        (e: NodeJS.ErrnoException) => e.code,
      );
      const { result } = await runProbe(probe, target(25, { host: 'mailmon-probe-test.invalid' }), {
        timeoutMs: TIMEOUT_MS,
      });
      expect(outcome(result)).toEqual({
        ok: false,
        code: said === 'ENOTFOUND' ? 'dns_not_found' : 'network_error',
        phase: 'dns',
      });
      expect(result.reason).toContain(`(${said})`);
    });

    it('the egress policy refusing the address: its egress_denied passes through', async () => {
      const resolve = (): Promise<string> =>
        Promise.reject(new ProbeError('egress_denied', 'dns', '10.0.0.1 is in egress.denyCidrs'));
      const { result } = await runProbe(probe, target(25, { host: 'mail.example.com' }), {
        timeoutMs: TIMEOUT_MS,
        resolve,
      });
      expect(outcome(result)).toEqual({ ok: false, code: 'egress_denied', phase: 'dns' });
      expect(result.reason).toContain('10.0.0.1 is in egress.denyCidrs');
    });

    it('a resolver that never answers: deadline_exceeded in dns', async () => {
      const resolve = (): Promise<string> => new Promise(() => undefined);
      const { result } = await runProbe(probe, target(25, { host: 'slow.example.com' }), {
        timeoutMs: 300,
        resolve,
      });
      expect(outcome(result)).toEqual({ ok: false, code: 'deadline_exceeded', phase: 'dns' });
    });

    it('the caller aborting mid-check: deadline_exceeded, returned promptly', async () => {
      const port = await serve('silent');
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const { result, elapsedMs } = await runProbe(probe, target(port), {
        timeoutMs: 5_000,
        signal: controller.signal,
      });
      expect(outcome(result)).toEqual({ ok: false, code: 'deadline_exceeded', phase: 'greeting' });
      expect(result.reason).toContain('check aborted during greeting');
      expect(elapsedMs).toBeLessThan(1_000);
    });
  },
);

describe('smtp probe: EHLO refused', () => {
  it('5xx to EHLO and HELO: ehlo_rejected with the server reply', async () => {
    const handles = snapshotHandles();
    const server = await startMisbehaving('reject-ehlo', { protocol: 'smtp' });
    try {
      const { result } = await runProbe(
        createSmtpProbe(),
        {
          protocol: 'smtp',
          host: '127.0.0.1',
          port: server.port,
          security: 'none',
          authType: 'password',
          username: 'u',
          secret: 'pw',
          acceptUnverifiedCert: false,
        },
        { timeoutMs: TIMEOUT_MS },
      );
      expect(outcome(result)).toEqual({ ok: false, code: 'ehlo_rejected', phase: 'ehlo' });
      expect(result.response).toEqual({ code: '554 5.7.1', text: 'Your client is not welcome here' });
      expect(result.reason).toMatch(
        /^SMTP EHLO rejected: 554 5\.7\.1 Your client is not welcome here \(127\.0\.0\.1:\d+\)$/,
      );
    } finally {
      await server.close();
    }
    await handles.assertNoLeak();
  });
});
