import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../../src/accounts/repository.js';
import { duration, shortTime } from '../../../src/http/ui/format.js';
import { summarise, toRuns } from '../../../src/http/ui/timeline.js';

const NOW = new Date('2026-12-03T12:00:00Z'); // a Thursday
const DAY = 86_400_000;

function entry(at: Date, ok: boolean, side: 'imap' | 'smtp' = 'imap'): HistoryEntry {
  return {
    side,
    checkedAt: at,
    ok,
    code: ok ? null : 'auth_rejected',
    phase: ok ? null : 'auth',
    reason: ok ? null : 'login rejected',
    durationMs: 5,
  };
}

describe('history timeline', () => {
  it('groups the sides of one check (Ok only when every side was) and runs of equal outcome', () => {
    const t = (ms: number) => new Date(NOW.getTime() - ms);
    // Newest first, as the repository returns them.
    const runs = toRuns([
      entry(t(1000), false, 'imap'),
      entry(t(1000), true, 'smtp'),
      entry(t(2000), true, 'imap'),
      entry(t(2000), false, 'smtp'),
      entry(t(3000), true, 'imap'),
      entry(t(3000), true, 'smtp'),
      entry(t(4000), true, 'imap'),
      entry(t(4000), true, 'smtp'),
    ]);
    expect(runs.map((r) => [r.ok, r.checks, r.open])).toEqual([
      [false, 2, false],
      [true, 2, true],
    ]);
    expect(runs[0]).toMatchObject({ from: t(2000), to: t(1000), codes: ['auth_rejected'] });
  });

  it('sums up as "Failing since Tuesday 14:02 after 212 days Ok"', () => {
    const since = new Date('2026-12-01T14:02:00Z'); // Tuesday
    const okFrom = new Date(since.getTime() - 212 * DAY);
    const runs = toRuns([
      entry(new Date('2026-12-03T11:55:00Z'), false),
      entry(since, false),
      entry(new Date(since.getTime() - 300_000), true),
      entry(new Date(okFrom.getTime() + DAY), true),
      entry(okFrom, true),
      entry(new Date(okFrom.getTime() - 300_000), false),
    ]);
    expect(summarise(runs, NOW)).toBe('Failing since Tuesday 14:02 after 212 days Ok');
  });

  it('says "at least" when the previous run reaches the oldest check kept, and handles no history', () => {
    const runs = toRuns([
      entry(new Date(NOW.getTime() - 60_000), true),
      entry(new Date(NOW.getTime() - 3 * 3_600_000), false),
    ]);
    expect(summarise(runs, NOW)).toBe('Ok since Thursday 11:59 after at least 2 hours failing');
    expect(summarise(toRuns([entry(new Date(NOW.getTime() - 60_000), false)]), NOW)).toBe(
      'Failing since Thursday 11:59 (no successful check in the history kept)',
    );
    expect(summarise([], NOW)).toBe('No checks kept in history yet');
  });

  it('writes times older than a week as dates, and durations in their largest unit', () => {
    expect(shortTime(new Date('2026-11-03T14:02:00Z'), NOW)).toBe('2026-11-03 14:02');
    expect(shortTime(new Date('2026-12-02T09:05:00Z'), NOW)).toBe('Wednesday 09:05');
    expect(duration(212 * DAY + 5)).toBe('212 days');
    expect(duration(3_600_000)).toBe('1 hour');
    expect(duration(59_999)).toBe('59 seconds');
    expect(duration(10)).toBe('less than a second');
  });
});
