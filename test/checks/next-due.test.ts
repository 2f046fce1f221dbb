import { describe, expect, it } from 'vitest';
import { nextDueAt } from '../../src/checks/next-due.js';

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
