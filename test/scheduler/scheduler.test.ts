import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { cronIntervalSeconds, Scheduler } from '../../src/scheduler/scheduler.js';
import { runSweep } from '../../src/scheduler/sweep.js';
import { testCore } from '../helpers/core.js';
import { sqliteTestDb, type TestDb } from '../helpers/databases.js';

describe('cronIntervalSeconds', () => {
  it.each([
    ['*/5 * * * *', 300],
    ['* * * * *', 60],
    ['*/2 * * * * *', 2],
    ['0 * * * *', 3600],
  ])('%s fires every %i s', (schedule, seconds) => {
    expect(cronIntervalSeconds(schedule)).toBe(seconds);
  });
});

/** A TCP server that records when each connection arrives and holds it open for `holdMs`. */
async function recordingServer(holdMs: number) {
  const accepted: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    accepted.push(performance.now());
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    setTimeout(() => socket.destroy(), holdMs).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('sweeps', () => {
  let db: TestDb;
  let core: Core;
  let server: Awaited<ReturnType<typeof recordingServer>>;
  let ids: number[];

  beforeAll(async () => {
    [db, server] = await Promise.all([sqliteTestDb(), recordingServer(300)]);
    ({ core } = await testCore(db.url, { 'scheduler.checkTimeoutSeconds': 2 }));
    const side = {
      server: '127.0.0.1',
      port: server.port,
      authType: 'password' as const,
      username: 'u',
      password: 'p',
      security: 'none' as const,
      acceptUnverifiedCert: false,
      caPem: null,
    };
    ids = await core.repo.saveAccounts(
      [1, 2, 3, 4].map((i) => ({
        emailAddress: `s${i}@example.test`,
        associateId: 0,
        incoming: side,
        outgoing: null,
      })),
    );
  });
  afterAll(async () => {
    await core?.close();
    await Promise.all([db?.cleanup(), server?.close()]);
  });

  it('spread check starts over the spread window instead of firing all at once', async () => {
    server.accepted.length = 0;
    const started = performance.now();
    await runSweep(core, {
      signal: new AbortController().signal,
      concurrency: 10,
      spreadMs: 900,
      accountIds: ids,
    });
    expect(server.accepted).toHaveLength(4);
    // 900 ms over 4 accounts: the n-th start is due 225 ms × n after the sweep began. Timers never
    // fire early, so the n-th connection cannot arrive sooner, however loaded the machine is (gaps
    // between neighbours can shrink when one start is late, so they are not what is asserted).
    const offsets = server.accepted.map((t) => t - started);
    offsets.forEach((offset, n) => expect(offset).toBeGreaterThanOrEqual(225 * n - 2));
  });

  it('respect the global concurrency limit', async () => {
    server.accepted.length = 0;
    const started = performance.now();
    await runSweep(core, {
      signal: new AbortController().signal,
      concurrency: 1,
      spreadMs: 0,
      accountIds: ids,
    });
    // Each connection is held 300 ms; one at a time means about 4 × 300 ms.
    expect(performance.now() - started).toBeGreaterThan(4 * 280);
    const gaps = server.accepted.slice(1).map((t, i) => t - server.accepted[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThan(250);
  });

  it('never overlap: a tick while a sweep runs is skipped', async () => {
    const scheduler = new Scheduler(core, {
      schedule: '0 0 1 1 *',
      concurrency: 10,
      spreadMs: 0,
      historyRetentionMs: 0,
      drainTimeoutMs: 5000,
    });
    await core.db.knex('email_account').update({ next_due_at: 0 }); // due again
    const first = scheduler.tick();
    expect(scheduler.busy).toBe(true);
    expect(await scheduler.tick()).toBeNull();
    const summary = await first;
    expect(summary?.due).toBe(4);
    // The daemon's sweeps keep counts only, not every report (memory at 100,000 accounts).
    expect(summary?.checked).toBe(4);
    expect(summary?.reports).toEqual([]);
    expect(scheduler.busy).toBe(false);
    await scheduler.stop();
  });
});
