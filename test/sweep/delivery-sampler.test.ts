import { describe, expect, it } from 'vitest';
import { DeliverySampler } from '../../src/sweep/delivery-sampler.js';

/** A deterministic stand-in for Math.random (a linear congruential generator). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('DeliverySampler', () => {
  it('never samples when the setting is 0', () => {
    const sampler = new DeliverySampler(0, 1000, () => 0);
    expect(Array.from({ length: 100 }, () => sampler.take()).filter(Boolean)).toHaveLength(0);
  });

  it('takes at most perInterval per interval, and spreads picks over the interval once it knows the rate', () => {
    let now = 0;
    const sampler = new DeliverySampler(5, 1000, () => now, seeded(7));
    const picked: number[][] = [];
    for (let interval = 0; interval < 20; interval++) {
      const here: number[] = [];
      for (let i = 0; i < 100; i++) {
        now = interval * 1000 + i * 10; // 100 checks an interval, as accounts fall due
        if (sampler.take()) here.push(i);
      }
      picked.push(here);
    }
    // First interval: no history, the first five.
    expect(picked[0]).toEqual([0, 1, 2, 3, 4]);
    const later = picked.slice(1);
    for (const here of later) expect(here.length).toBeLessThanOrEqual(5);
    const total = later.reduce((n, here) => n + here.length, 0);
    expect(total).toBeGreaterThan(19 * 5 * 0.6); // about five an interval on average
    // Not always the first checks of an interval: the picks reach the second half too.
    expect(later.flat().some((i) => i >= 50)).toBe(true);
    expect(new Set(later.flat()).size).toBeGreaterThan(20);
  });

  it('forgets the rate after a gap of several intervals', () => {
    let now = 0;
    const sampler = new DeliverySampler(
      1,
      1000,
      () => now,
      () => 0.99,
    );
    for (let i = 0; i < 100; i++) sampler.take();
    now = 1000;
    expect(sampler.take()).toBe(false); // 100 checks last interval: p = 0.01
    now = 10_000;
    expect(sampler.take()).toBe(true); // gap: no history, the first one is taken
  });
});
