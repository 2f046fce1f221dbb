import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { testCore } from '../helpers/core.js';
import { sqliteTestDb, type TestDb } from '../helpers/databases.js';

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

describe('runSweep (mailmon check)', () => {
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

  it('respect the global concurrency limit', async () => {
    server.accepted.length = 0;
    const started = performance.now();
    await runSweep(core, {
      signal: new AbortController().signal,
      concurrency: 1,
      accountIds: ids,
    });
    // Each connection is held 300 ms; one at a time means about 4 × 300 ms.
    expect(performance.now() - started).toBeGreaterThan(4 * 280);
    const gaps = server.accepted.slice(1).map((t, i) => t - server.accepted[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThan(250);
  });
});
