import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { collect, runCli, spawnCli } from '../helpers/cli.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { startMisbehaving, type MisbehavingServer } from '../peers/misbehaving.js';
import { describeWithPeer } from '../peers/require.js';

const PW = 'shutdown-canary-pw-51ab';

describeWithPeer('dovecot', 'mailmon serve shuts down cleanly on SIGTERM', () => {
  let dir: string;
  let dovecot: Dovecot;
  let hang: MisbehavingServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailmon-shutdown-'));
    [dovecot, hang] = await Promise.all([
      startDovecot({ users: [{ user: 'bob', pass: PW }] }),
      startMisbehaving('greet-then-hang', { protocol: 'imap' }),
    ]);
    writeFileSync(
      join(dir, 'mailmon.yaml'),
      [
        'http: { port: 0 }',
        'scheduler: { concurrency: 2, perHostConcurrency: 2, checkTimeoutSeconds: 2 }',
        'egress: { allowCidrs: [127.0.0.0/8], allowedPorts: null }',
        'shutdown: { drainTimeoutSeconds: 10 }',
        'log: { format: json }',
      ].join('\n'),
    );
    env = {
      MAILMON_CONFIG: join(dir, 'mailmon.yaml'),
      MAILMON_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      MAILMON_SECRET_KEY: generateKeyLine('k1'),
    };
    const side = (port: number, security: string) => ({
      Server: '127.0.0.1',
      Port: port,
      Username: 'bob',
      Password: PW,
      Security: security,
    });
    // Alternate hanging and good accounts; with concurrency 2 most are still queued at SIGTERM.
    const accounts = Array.from({ length: 12 }, (_, i) => ({
      EMailAddress: `user${i}@example.test`,
      IncomingCredentials: i % 2 === 0 ? side(hang.port, 'none') : side(dovecot.imapPort, 'none'),
    }));
    const imported = await runCli(['accounts', 'import', '-'], env, JSON.stringify(accounts));
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
  });

  afterAll(async () => {
    await Promise.all([dovecot?.stop(), hang?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'drains in-flight checks, starts no new ones, exits 0 and leaves no account half-written',
    { timeout: 90_000 },
    async () => {
      const child = spawnCli(['serve'], env);
      const done = collect(child);
      // Wait until the first check has been written (a state change is logged), then signal.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('daemon did not start checking')), 45_000);
        child.stdout?.on('data', (d: Buffer) => {
          if (d.toString().includes('"transition"')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const signalledAt = performance.now();
      child.kill('SIGTERM');
      const run = await done;
      const shutdownMs = performance.now() - signalledAt;
      expect(run.code).toBe(0);
      // In-flight checks time out after 2 s; the drain never needs the 10 s bound.
      expect(shutdownMs).toBeLessThan(2000 + 1000 + 1500);
      expect(run.stdout).toContain('mailmon stopped');
      expect(run.stdout + run.stderr).not.toContain(PW);

      const db = openDatabase(env.MAILMON_DATABASE_URL!);
      try {
        const accounts = await db.knex('email_account').select();
        const history = await db.knex('check_result').select();
        const last = await db.knex('last_check').select();
        const checked = accounts.filter((a) => a.last_check_at !== null);
        // Some were checked, the queued rest never started.
        expect(checked.length).toBeGreaterThan(0);
        expect(checked.length).toBeLessThan(accounts.length);
        for (const a of accounts) {
          const rows = history.filter((h) => h.email_account_id === a.email_account_id);
          const lastRows = last.filter((l) => l.email_account_id === a.email_account_id);
          if (a.last_check_at === null) {
            // Untouched: no status, no history, no last result.
            expect([a.account_status, a.error_count, rows.length, lastRows.length]).toEqual([0, 0, 0, 0]);
          } else {
            // Whole: status, count, history and last result all agree.
            expect(rows).toHaveLength(1);
            expect(lastRows).toHaveLength(1);
            expect(Number(rows[0].checked_at)).toBe(Number(a.last_check_at));
            expect(a.error_count).toBe(rows[0].ok ? 0 : 1);
            expect(a.account_status).toBe(rows[0].ok ? 4 : 2);
          }
        }
      } finally {
        await db.close();
      }
    },
  );

  it(
    'a kill -9 mid-sweep loses nothing that was written and corrupts nothing',
    { timeout: 90_000 },
    async () => {
      const killEnv = { ...env, MAILMON_DATABASE_URL: `sqlite:${join(dir, 'kill.sqlite')}` };
      const side = (port: number) => ({
        Server: '127.0.0.1',
        Port: port,
        Username: 'bob',
        Password: PW,
        Security: 'none',
      });
      const accounts = Array.from({ length: 12 }, (_, i) => ({
        EMailAddress: `kill${i}@example.test`,
        IncomingCredentials: side(i % 3 === 0 ? hang.port : dovecot.imapPort),
      }));
      expect((await runCli(['accounts', 'import', '-'], killEnv, JSON.stringify(accounts))).code).toBe(0);
      const child = spawnCli(['serve'], killEnv);
      const done = collect(child);
      await new Promise<void>((resolve) => {
        let transitions = 0;
        child.stdout?.on('data', (d: Buffer) => {
          transitions += d.toString().split('"transition"').length - 1;
          if (transitions >= 3) resolve();
        });
      });
      child.kill('SIGKILL');
      expect((await done).signal).toBe('SIGKILL');

      const db = openDatabase(killEnv.MAILMON_DATABASE_URL);
      try {
        expect(await db.knex.raw('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
        const rows = await db.knex('email_account').select();
        const history = await db.knex('check_result').select();
        expect(history.length).toBeGreaterThanOrEqual(3);
        for (const a of rows) {
          const own = history.filter((h) => h.email_account_id === a.email_account_id);
          // Each check is one transaction: the account row and its history agree, whatever the moment.
          expect(a.last_check_at === null ? 0 : 1).toBe(own.length);
          if (own.length === 1) expect(Number(a.last_check_at)).toBe(Number(own[0].checked_at));
        }
      } finally {
        await db.close();
      }
      // The database is usable afterwards.
      const check = await runCli(['check', '--all', '--json'], killEnv);
      expect(JSON.parse(check.stdout)).toHaveLength(12);
    },
  );

  it('a second signal exits at once', { timeout: 90_000 }, async () => {
    const child = spawnCli(['serve'], env);
    const done = collect(child);
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('mailmon listening')) resolve();
      });
    });
    child.kill('SIGTERM');
    // Two signals sent back to back can merge into one pending signal; let the first land.
    await new Promise((r) => setTimeout(r, 150));
    const started = performance.now();
    child.kill('SIGTERM');
    const run = await done;
    expect(performance.now() - started).toBeLessThan(1000);
    expect([run.code, run.signal]).toEqual([130, null]);
  });
});
