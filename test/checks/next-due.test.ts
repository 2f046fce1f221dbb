import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  backoffCode,
  DEFAULT_SCHEDULE,
  hostBackoffStep,
  loginAttemptsWithin,
  nextAuthFailures,
  nextDueAt,
  waitMs,
} from '../../src/checks/next-due.js';
import type { FailureCode, Phase } from '../../src/probes/errors.js';

const I = 300_000;

describe('nextDueAt', () => {
  it.each([
    // due, now → next
    [1_000_000, 1_000_000, 1_000_000 + I], // on time
    [1_000_000, 1_000_000 + 40_000, 1_000_000 + I], // claimed 40 s late: keeps its place
    [1_000_000, 1_000_000 + I - 1, 1_000_000 + I], // late by almost an interval: still its place
    [1_000_000, 1_000_000 + I, 1_000_000 + 2 * I], // late by a whole interval: one interval from now
    [1_000_000, 1_000_000 + 10 * I + 5, 1_000_000 + 11 * I + 5], // the fleet was down
    [1_000_000 + 200_000, 1_000_000, 1_000_000 + I], // a manual test before its due time: from now
  ])('due %s, now %s → %s', (dueAt, now, want) => {
    expect(nextDueAt({ dueAt, now, intervalMs: I })).toBe(want);
  });
});

describe('backoff after credential failures (issue 11)', () => {
  const H = 3_600_000;
  it.each([
    // failures in a row → wait
    [0, I],
    [1, I], // the first failure: the normal interval (one more try, a typo fixed meanwhile)
    [2, 2 * I],
    [3, 4 * I],
    [4, 8 * I],
    [9, 256 * I], // 21 h 20 min
    [10, 24 * H], // 512 × 5 min would be 42 h: capped at 24 h
    [10_000, 24 * H], // no overflow
  ])('%i credential failures in a row → wait %i ms', (authFailures, want) => {
    expect(waitMs({ intervalMs: I, authFailures, maxBackoffMs: 24 * H })).toBe(want);
  });

  it('anchors on the due time like the normal interval, and a cap below the interval is the interval', () => {
    expect(
      nextDueAt({ dueAt: 1_000, now: 41_000, intervalMs: I, authFailures: 3, maxBackoffMs: 24 * H }),
    ).toBe(1_000 + 4 * I);
    expect(waitMs({ intervalMs: I, authFailures: 5, maxBackoffMs: 60_000 })).toBe(I);
  });

  it("a host's step doubles every account's wait on it; the longer of the two backoffs wins", () => {
    expect(hostBackoffStep(9, 10)).toBe(0);
    expect(hostBackoffStep(10, 10)).toBe(1);
    expect(hostBackoffStep(35, 10)).toBe(3);
    expect(waitMs({ intervalMs: I, hostStep: 1 })).toBe(2 * I);
    expect(waitMs({ intervalMs: I, authFailures: 4, hostStep: 1 })).toBe(8 * I);
    expect(waitMs({ intervalMs: I, authFailures: 1, hostStep: 3 })).toBe(8 * I);
  });

  const side = (ok: boolean, code: FailureCode | null, phase: Phase | null) => ({ ok, code, phase });
  it.each([
    ['a refused login counts one more', 2, [side(false, 'auth_rejected', 'auth')], 3],
    ['basic auth disabled counts', 0, [side(false, 'basic_auth_disabled', 'auth')], 1],
    ['a banned IP counts', 1, [side(false, 'ip_banned', 'connect')], 2],
    [
      'one side refused, the other ok: counts',
      0,
      [side(true, null, null), side(false, 'account_locked', 'auth')],
      1,
    ],
    [
      'a network failure keeps the count (and the normal interval)',
      3,
      [side(false, 'connection_refused', 'connect')],
      3,
    ],
    ['a TLS failure keeps the count', 3, [side(false, 'tls_cert_expired', 'tls')], 3],
    ['every login went through: 0', 3, [side(true, null, null), side(true, null, null)], 0],
    [
      'failed after the login (mailbox): the credentials work, 0',
      3,
      [side(false, 'mailbox_unavailable', 'mailbox')],
      0,
    ],
    [
      'one side after login, one before: the other login is unproven',
      3,
      [side(false, 'send_rejected', 'rcpt'), side(false, 'connect_timeout', 'connect')],
      3,
    ],
  ] as const)('%s', (_name, previous, sides, want) => {
    expect(nextAuthFailures(previous, sides)).toBe(want);
  });

  it('the backoff code is the first credential failure', () => {
    expect(
      backoffCode([side(false, 'connect_timeout', 'connect'), side(false, 'password_expired', 'auth')]),
    ).toBe('password_expired');
    expect(backoffCode([side(false, 'connect_timeout', 'connect')])).toBeNull();
  });
});

describe("the README's lockout guarantee", () => {
  // The numbers in the README's "Never locking a user out" are these; this test reads them there.
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const stated =
    /a wrong password causes at most \*\*(\d+)\*\* login attempts in the first hour and \*\*(\d+)\*\* in the first day, then \*\*(\d+)\*\* a day/.exec(
      readme,
    );

  it('states K (first hour), L (first day) and the steady rate that nextDueAt gives with the defaults', () => {
    expect(stated, 'README sentence with the numbers').not.toBeNull();
    const [, k, l, perDay] = stated!.map(Number);
    const H = 3_600_000;
    expect(loginAttemptsWithin(H)).toBe(k);
    expect(loginAttemptsWithin(24 * H)).toBe(l);
    // Long after the first day: one attempt per maximum wait.
    expect(loginAttemptsWithin(30 * 24 * H) - loginAttemptsWithin(29 * 24 * H)).toBe(perDay);
    expect(DEFAULT_SCHEDULE.intervalMs).toBe(300_000);
  });
});
