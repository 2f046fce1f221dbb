import { describe, expect, it } from 'vitest';
import { combineResults, nextStatus, transitionOf } from '../../src/accounts/status.js';
import { AccountStatus } from '../../src/accounts/types.js';
import type { ProbeResult } from '../../src/probes/types.js';

function result(protocol: 'imap' | 'smtp', ok: boolean, reason: string | null = null): ProbeResult {
  return {
    protocol,
    ok,
    code: ok ? null : 'auth_rejected',
    phase: ok ? null : 'auth',
    reason,
    durationMs: 5,
    phases: [],
    transcript: [],
  };
}

const OK = { ok: true, reason: null };
const FAIL = { ok: false, reason: 'IMAP: login rejected' };

describe('nextStatus', () => {
  it.each([
    // previous status, previous count, outcome, threshold → status, count, reason
    [AccountStatus.Unknown, 0, OK, 3, AccountStatus.Ok, 0, ''],
    [AccountStatus.Unknown, 0, FAIL, 3, AccountStatus.Failing, 1, FAIL.reason],
    [AccountStatus.Ok, 0, FAIL, 3, AccountStatus.Failing, 1, FAIL.reason],
    [AccountStatus.Failing, 1, FAIL, 3, AccountStatus.Failing, 2, FAIL.reason],
    [AccountStatus.Failing, 2, FAIL, 3, AccountStatus.Failed, 3, FAIL.reason],
    [AccountStatus.Failed, 3, FAIL, 3, AccountStatus.Failed, 4, FAIL.reason],
    [AccountStatus.Failed, 7, OK, 3, AccountStatus.Ok, 0, ''],
    [AccountStatus.Failing, 1, OK, 3, AccountStatus.Ok, 0, ''],
    [AccountStatus.Ok, 0, FAIL, 1, AccountStatus.Failed, 1, FAIL.reason],
    [AccountStatus.Deleted, 2, OK, 3, AccountStatus.Deleted, 2, 'old'],
    [AccountStatus.Deleted, 2, FAIL, 3, AccountStatus.Deleted, 2, 'old'],
  ])(
    '%s/%s + %o (threshold %s) → %s/%s',
    (status, errorCount, outcome, threshold, wantStatus, wantCount, wantReason) => {
      const previousReason = status === AccountStatus.Deleted ? 'old' : 'x';
      const next = nextStatus({ status, errorCount, errorReason: previousReason }, outcome, threshold);
      expect(next).toEqual({ status: wantStatus, errorCount: wantCount, errorReason: wantReason });
    },
  );

  it('truncates a long reason to 254 characters', () => {
    const next = nextStatus(
      { status: AccountStatus.Ok, errorCount: 0, errorReason: '' },
      { ok: false, reason: 'x'.repeat(400) },
      3,
    );
    expect(next.errorReason).toHaveLength(254);
  });
});

describe('combineResults', () => {
  it('passes only when every side passes', () => {
    expect(combineResults([result('imap', true), result('smtp', true)])).toEqual({ ok: true, reason: null });
    expect(combineResults([])).toEqual({ ok: true, reason: null });
  });

  it('names the failing side', () => {
    const outcome = combineResults([result('imap', true), result('smtp', false, 'AUTH rejected: 535 5.7.8')]);
    expect(outcome).toEqual({ ok: false, reason: 'SMTP: AUTH rejected: 535 5.7.8' });
  });

  it('names both sides when both fail, without doubling a side prefix', () => {
    const outcome = combineResults([
      result('imap', false, 'IMAP login rejected: AUTHENTICATIONFAILED'),
      result('smtp', false, 'connection refused'),
    ]);
    expect(outcome.reason).toBe('IMAP login rejected: AUTHENTICATIONFAILED; SMTP: connection refused');
  });
});

describe('transitionOf', () => {
  it('reports changes only', () => {
    expect(transitionOf(AccountStatus.Ok, AccountStatus.Failing)).toBe('Ok→Failing');
    expect(transitionOf(AccountStatus.Failing, AccountStatus.Failed)).toBe('Failing→Failed');
    expect(transitionOf(AccountStatus.Failed, AccountStatus.Ok)).toBe('Failed→Ok');
    expect(transitionOf(AccountStatus.Failing, AccountStatus.Failing)).toBeNull();
  });
});
