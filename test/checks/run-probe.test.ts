// The watchdog around a probe: a probe that hangs past its deadline, or throws (neither should
// happen), still yields a failed ProbeResult built like every other failure: formatted reason,
// the target's secret scrubbed from it.
import { describe, expect, it } from 'vitest';
import { runProbeWithDeadline, WATCHDOG_GRACE_MS } from '../../src/checks/run-probe.js';
import { ProbeError } from '../../src/probes/errors.js';
import type { Probe, ProbeTarget } from '../../src/probes/types.js';

const SECRET = 'watchdog-secret-9f2';

const target: ProbeTarget = {
  protocol: 'imap',
  host: 'imap.example.test',
  port: 993,
  security: 'tls',
  authType: 'password',
  username: 'u',
  secret: SECRET,
  acceptUnverifiedCert: false,
};

const probe = (run: Probe['run']): Probe => ({ protocol: 'imap', run });

describe('runProbeWithDeadline', () => {
  it('a probe that never settles: deadline_exceeded after the grace period, its signal aborted', async () => {
    let seen: AbortSignal | undefined;
    const hung = probe((_t, options) => {
      seen = options.signal;
      return new Promise(() => undefined);
    });
    const t0 = performance.now();
    const result = await runProbeWithDeadline(hung, target, {
      signal: new AbortController().signal,
      timeoutMs: 50,
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(50 + WATCHDOG_GRACE_MS - 5);
    expect(result).toMatchObject({
      protocol: 'imap',
      ok: false,
      code: 'deadline_exceeded',
      phase: 'connect',
      reason: 'IMAP check timed out: deadline exceeded (imap.example.test:993)',
      phases: [],
      transcript: [],
    });
    expect(seen?.aborted).toBe(true);
  });

  it("the caller's abort reaches the probe at once; a probe that hangs anyway still ends at the deadline", async () => {
    let seen: AbortSignal | undefined;
    const hung = probe((_t, options) => {
      seen = options.signal;
      return new Promise(() => undefined);
    });
    const caller = new AbortController();
    const t0 = performance.now();
    const running = runProbeWithDeadline(hung, target, { signal: caller.signal, timeoutMs: 50 });
    caller.abort(new Error('shutdown'));
    expect(seen?.aborted).toBe(true);
    const result = await running;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(50 + WATCHDOG_GRACE_MS - 5);
    expect(result).toMatchObject({ ok: false, code: 'deadline_exceeded' });
  });

  it('a probe that throws a ProbeError: its code and phase, the reason formatted and scrubbed', async () => {
    const throwing = probe(() =>
      Promise.reject(new ProbeError('auth_rejected', 'auth', `server said ${SECRET} is wrong`)),
    );
    const result = await runProbeWithDeadline(throwing, target, {
      signal: new AbortController().signal,
      timeoutMs: 1_000,
    });
    expect(result).toMatchObject({ ok: false, code: 'auth_rejected', phase: 'auth' });
    expect(result.reason).toBe('IMAP login rejected: server said **** is wrong (imap.example.test:993)');
    expect(result.cause?.message).not.toContain(SECRET);
  });

  it('a probe that throws anything else: internal_error, the thrown error kept as the cause', async () => {
    const bug = new TypeError('probe bug');
    const result = await runProbeWithDeadline(
      probe(() => Promise.reject(bug)),
      target,
      { signal: new AbortController().signal, timeoutMs: 1_000 },
    );
    expect(result).toMatchObject({ ok: false, code: 'internal_error', phase: 'connect' });
    expect(result.reason).toBe(
      'IMAP internal error in mailmon: the probe failed unexpectedly; see the log (imap.example.test:993)',
    );
    expect(result.cause).toBe(bug);
  });
});
