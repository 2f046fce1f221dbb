// judgeDelivery, table-style: which outcome a check reports from what it sent and found.
import { describe, expect, it } from 'vitest';
import type { FoundProbe } from '../../src/delivery/mailbox-scan.js';
import { judgeDelivery } from '../../src/delivery/outcome.js';
import { newProbeToken, probeTokenOf } from '../../src/delivery/probe-message.js';

const T0 = Date.parse('2030-06-01T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const probe = (token: string, sentS: number) => ({ token, sentAt: at(sentS) });
const found = (token: string, seenS: number, opts: Partial<FoundProbe> = {}): FoundProbe => ({
  token,
  folder: opts.junk ? 'Junk' : 'INBOX',
  junk: false,
  internalDate: null,
  seenAt: at(seenS),
  ...opts,
});
const LOST_MS = 600_000;

describe('judgeDelivery', () => {
  it('own probe found: delivered with latency; found in Junk: junk', () => {
    const j = judgeDelivery({
      sent: probe('a', 0),
      earlier: [],
      found: [found('a', 1.5)],
      now: at(2),
      lostAfterMs: LOST_MS,
    });
    expect(j?.facts).toMatchObject({ outcome: 'delivered', latencyMs: 1500, folder: 'INBOX', pending: 0 });
    expect(j?.settled).toEqual(['a']);
    const junk = judgeDelivery({
      sent: probe('a', 0),
      earlier: [],
      found: [found('a', 2, { junk: true })],
      now: at(2),
      lostAfterMs: LOST_MS,
    });
    expect(junk?.facts).toMatchObject({ outcome: 'junk', folder: 'Junk', latencyMs: 2000 });
  });

  it('not seen: pending, nothing settled', () => {
    const j = judgeDelivery({
      sent: probe('a', 0),
      earlier: [],
      found: [],
      now: at(20),
      lostAfterMs: LOST_MS,
    });
    expect(j).toMatchObject({
      facts: { outcome: 'pending', latencyMs: null, pending: 1 },
      settled: [],
      lost: null,
    });
  });

  it('an earlier probe past the limit: lost (and settled), even when this check’s own arrived', () => {
    const j = judgeDelivery({
      sent: probe('b', 700),
      earlier: [probe('a', 0)],
      found: [found('b', 701)],
      now: at(702),
      lostAfterMs: LOST_MS,
    });
    expect(j?.facts.outcome).toBe('lost');
    expect(j?.lost?.token).toBe('a');
    expect(j?.settled.sort()).toEqual(['a', 'b']);
  });

  it('a late arrival is measured by INTERNALDATE and settled; unknown tokens are counted but unmeasured', () => {
    const j = judgeDelivery({
      sent: probe('b', 300),
      earlier: [probe('a', 0)],
      found: [found('a', 300, { internalDate: at(42) }), found('b', 301), found('stray', 300)],
      now: at(301),
      lostAfterMs: LOST_MS,
    });
    expect(j?.facts.outcome).toBe('delivered');
    expect(j?.facts.arrivals).toEqual([
      { latencyMs: 42_000, junk: false, late: true },
      { latencyMs: 1000, junk: false, late: false },
      { latencyMs: null, junk: false, late: true },
    ]);
    expect(j?.settled.sort()).toEqual(['a', 'b']);
  });

  it('a look without a send: the late arrival is the outcome; nothing pending and nothing found: no verdict', () => {
    const j = judgeDelivery({
      sent: null,
      earlier: [probe('a', 0)],
      found: [found('a', 30)],
      now: at(30),
      lostAfterMs: LOST_MS,
    });
    expect(j?.facts).toMatchObject({ outcome: 'delivered', latencyMs: 30_000 });
    expect(
      judgeDelivery({ sent: null, earlier: [], found: [], now: at(1), lostAfterMs: LOST_MS }),
    ).toBeNull();
  });
});

describe('probe tokens', () => {
  it('only tokens of our exact form are recognised (and deleted)', () => {
    const token = newProbeToken(42);
    expect(token).toMatch(/^mailmon-42-/);
    expect(probeTokenOf(`X-Mailmon-Probe: ${token}\r\n\r\n`)).toBe(token);
    expect(probeTokenOf(`X-Mailmon-Probe: ${token}\r\n`, 42)).toBe(token);
    // Another account sharing the mailbox: its probe messages are left alone.
    expect(probeTokenOf(`X-Mailmon-Probe: ${token}\r\n`, 4)).toBeNull();
    expect(probeTokenOf(Buffer.from(`x-mailmon-probe:${token}\r\n`))).toBe(token);
    expect(probeTokenOf('X-Mailmon-Probe: mailmon-not-a-uuid\r\n')).toBeNull();
    expect(probeTokenOf('Subject: mailmon-\r\n')).toBeNull();
    expect(probeTokenOf(undefined)).toBeNull();
  });
});
