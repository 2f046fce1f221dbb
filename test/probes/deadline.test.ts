// The one-deadline-per-check primitive, with fake timers, and the leak detector the probe tests rely on.
import { createServer, connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineError, startDeadline } from '../../src/probes/deadline.js';
import { snapshotHandles } from './helpers.js';

describe('startDeadline', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('rejects a pending race with DeadlineError("timeout") and runs the end hooks first', async () => {
    vi.useFakeTimers();
    const deadline = startDeadline(1_000, new AbortController().signal, () => Date.now());
    const order: string[] = [];
    deadline.onEnd(() => order.push('hook'));
    const raced = deadline.race(new Promise(() => undefined)).catch((e: unknown) => {
      order.push('rejected');
      return e;
    });
    vi.advanceTimersByTime(999);
    expect(deadline.ended()).toBeNull();
    vi.advanceTimersByTime(1);
    const e = await raced;
    expect(e).toBeInstanceOf(DeadlineError);
    expect((e as DeadlineError).end).toBe('timeout');
    expect(order).toEqual(['hook', 'rejected']);
    deadline.dispose();
  });

  it("ends as 'aborted' when the caller's signal aborts, and remaining() shrinks with the clock", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const deadline = startDeadline(5_000, controller.signal, () => Date.now());
    vi.advanceTimersByTime(2_000);
    expect(deadline.remaining()).toBe(3_000);
    const raced = deadline.race(new Promise(() => undefined)).catch((e: unknown) => e);
    controller.abort();
    expect(((await raced) as DeadlineError).end).toBe('aborted');
    deadline.dispose();
  });

  it('passes results and errors of work that finishes in time; dispose clears the timer', async () => {
    const deadline = startDeadline(60_000, new AbortController().signal, () => Date.now());
    await expect(deadline.race(Promise.resolve(7))).resolves.toBe(7);
    await expect(deadline.race(Promise.reject(new Error('x')))).rejects.toThrow('x');
    deadline.dispose();
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThan(50);
  });
});

describe('snapshotHandles (the leak check)', () => {
  it('fails on a socket left open, passes once it is closed', async () => {
    const accepted = new Set<import('node:net').Socket>();
    const server = createServer((s) => {
      accepted.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as { port: number };
    const snapshot = snapshotHandles();
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    await expect(snapshot.assertNoLeak(100)).rejects.toThrow(/handles still open/);
    socket.destroy();
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await snapshot.assertNoLeak(1_000);
  });

  it('fails on a timer left running', async () => {
    const snapshot = snapshotHandles();
    const timer = setTimeout(() => undefined, 10_000);
    await expect(snapshot.assertNoLeak(100)).rejects.toThrow(/Timeout/);
    clearTimeout(timer);
    await snapshot.assertNoLeak(100);
  });
});
