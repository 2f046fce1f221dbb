// The database going away mid-sweep must not crash the daemon: the sweep logs and counts the
// failure, results that could not be written are dropped (never invented later), and the next
// sweep works again once the database is back. A TCP relay between mailmon and MariaDB plays the
// network: cutting it is a real outage, not a mocked error.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { AccountStatus } from '../../src/accounts/types.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { testCore, type LogCapture } from '../helpers/core.js';
import { mariadbTestDb, type TestDb } from '../helpers/databases.js';
import { startMisbehaving, type MisbehavingServer } from '../peers/misbehaving.js';
import { describeWithPeer } from '../peers/require.js';

const PW = 'outage-canary-pw-77c1';

interface Relay {
  port: number;
  /** Drop every relayed connection and refuse new ones. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      open = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describeWithPeer('mariadb', 'a database outage mid-sweep', () => {
  {
    let db: TestDb;
    let relay: Relay;
    let silent: MisbehavingServer;
    let core: Core;
    let logs: LogCapture;
    let ids: number[];

    beforeAll(async () => {
      // The mail server never greets, so every check is still running (1 s deadline) when the
      // database goes away: the failure hits recording the results, mid-sweep.
      [db, silent] = await Promise.all([mariadbTestDb(), startMisbehaving('silent', { protocol: 'imap' })]);
      relay = await startRelay(3306);
      const viaRelay = db.url.replace('127.0.0.1:3306', `127.0.0.1:${relay.port}`);
      ({ core, logs } = await testCore(viaRelay, { 'scheduler.checkTimeoutSeconds': 1 }));
      const side = {
        server: '127.0.0.1',
        port: silent.port,
        authType: 'password' as const,
        username: 'dan',
        password: PW,
        security: 'none' as const,
        acceptUnverifiedCert: false,
        caPem: null,
      };
      ids = await core.repo.saveAccounts(
        [1, 2, 3].map((i) => ({
          emailAddress: `o${i}@example.test`,
          associateId: 0,
          incoming: side,
          outgoing: null,
        })),
      );
    });
    afterAll(async () => {
      await core?.close();
      await Promise.all([relay?.close(), silent?.close()]);
      await db?.cleanup();
    });

    it('is logged and counted, writes nothing, and the next sweep recovers', async () => {
      const sweep = runSweep(core, {
        signal: new AbortController().signal,
        concurrency: 3,
        accountIds: ids,
      });
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(silent.connections()).toBe(3); // every check is in its probe now
      relay.cut();
      const summary = await sweep;
      expect(summary.errors).toBe(3);
      expect(summary.checked).toBe(0);
      const metrics = await core.metrics.metricsText();
      expect(metrics).toMatch(/^mailmon_database_errors_total 3$/m);
      expect(logs.text).toContain('could not be completed');
      expect(logs.text).not.toContain(PW);

      relay.restore();
      // Nothing was written during the outage, and nothing is made up afterwards.
      for (const id of ids) {
        expect(await core.repo.getAccount(id)).toMatchObject({
          accountStatus: AccountStatus.Unknown,
          lastCheckAt: null,
        });
        expect(await core.repo.history(id)).toEqual([]);
      }
      const after = await runSweep(core, {
        signal: new AbortController().signal,
        concurrency: 3,
        accountIds: ids,
      });
      expect([after.checked, after.failed, after.errors]).toEqual([3, 3, 0]);
      for (const id of ids) expect(await core.repo.history(id)).toHaveLength(1);
    });
  }
});
