// The per-host backoff and the ip_banned rule (pure logic on results, with an injected clock).
import { describe, expect, it } from 'vitest';
import { HostBackoff } from '../../src/checks/host-backoff.js';
import type { FailureCode, Phase } from '../../src/probes/errors.js';
import type { ProbeResult } from '../../src/probes/types.js';

const result = (ok: boolean, code: FailureCode | null = null, phase: Phase | null = null): ProbeResult => ({
  protocol: 'imap',
  ok,
  code,
  phase,
  reason: ok ? null : `IMAP ${code} (mail.example.com:993)`,
  durationMs: 1,
  phases: [],
  transcript: [],
});
const refused = () => result(false, 'auth_rejected', 'auth');

function setup(threshold = 3) {
  let now = 1_000_000;
  const hosts = new HostBackoff({ threshold, banWindowMs: 3_600_000, clock: () => now });
  return { hosts, advance: (ms: number) => (now += ms) };
}

describe('HostBackoff', () => {
  it('slows a host down from the threshold of refused logins in a row, across accounts; a login there resets it', () => {
    const { hosts } = setup(3);
    hosts.observe('Mail.Example.com', refused());
    hosts.observe('mail.example.com', refused());
    expect(hosts.step(['mail.example.com'])).toBe(0);
    hosts.observe('mail.example.com', result(false, 'basic_auth_disabled', 'auth'));
    expect(hosts.step(['other.example.com', 'MAIL.example.com'])).toBe(1);
    for (let i = 0; i < 3; i++) hosts.observe('mail.example.com', refused());
    expect(hosts.step(['mail.example.com'])).toBe(2);
    // A failure after the login proves the credentials: the host accepts our logins again.
    hosts.observe('mail.example.com', result(false, 'mailbox_unavailable', 'mailbox'));
    expect(hosts.step(['mail.example.com'])).toBe(0);
  });

  it('network failures neither count as refusals nor reset the count', () => {
    const { hosts } = setup(2);
    hosts.observe('h', refused());
    hosts.observe('h', result(false, 'tls_cert_expired', 'tls'));
    hosts.observe('h', refused());
    expect(hosts.step(['h'])).toBe(1);
  });

  it('a refused connection right after refused logins, while another host works, is ip_banned', () => {
    const { hosts, advance } = setup();
    hosts.observe('other', result(true));
    hosts.observe('h', refused());
    advance(60_000);
    const banned = hosts.observe('h', result(false, 'connection_refused', 'connect'));
    expect(banned.code).toBe('ip_banned');
    expect(banned.reason).toMatch(
      /^IMAP mailmon's address looks banned after failed logins .*: connection_refused/,
    );
    expect(hosts.observe('h', result(false, 'connect_timeout', 'connect')).code).toBe('ip_banned');
  });

  it('is not ip_banned without refused logins before, without another working host, or long after', () => {
    const a = setup();
    a.hosts.observe('other', result(true));
    expect(a.hosts.observe('h', result(false, 'connection_refused', 'connect')).code).toBe(
      'connection_refused',
    );

    const b = setup();
    b.hosts.observe('h', refused()); // no other host has worked: maybe our own network is down
    expect(b.hosts.observe('h', result(false, 'connection_refused', 'connect')).code).toBe(
      'connection_refused',
    );

    const c = setup();
    c.hosts.observe('other', result(true));
    c.hosts.observe('h', refused());
    c.advance(2 * 3_600_000);
    c.hosts.observe('other', result(true)); // the refused login is what is too old
    expect(c.hosts.observe('h', result(false, 'connection_refused', 'connect')).code).toBe(
      'connection_refused',
    );

    const d = setup();
    d.hosts.observe('other', result(true));
    d.hosts.observe('h', refused());
    // A TLS failure is not what a ban looks like.
    expect(d.hosts.observe('h', result(false, 'tls_handshake_failed', 'tls')).code).toBe(
      'tls_handshake_failed',
    );
  });
});
