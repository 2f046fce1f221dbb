import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { runCli } from '../helpers/cli.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';

const GOOD = 'cli-canary-good-8d1e';
const BAD = 'cli-canary-bad-3b7a';

describeWithPeer('dovecot', 'the mailmon CLI', () => {
  let dir: string;
  let dovecot: Dovecot;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailmon-cli-'));
    dovecot = await startDovecot({ users: [{ user: 'carol', pass: GOOD }] });
    writeFileSync(
      join(dir, 'mailmon.yaml'),
      'egress: { allowCidrs: [127.0.0.0/8], allowedPorts: null }\nscheduler: { checkTimeoutSeconds: 5 }\n',
    );
    env = {
      MAILMON_CONFIG: join(dir, 'mailmon.yaml'),
      MAILMON_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      MAILMON_SECRET_KEY: generateKeyLine('k1'),
    };
  });
  afterAll(async () => {
    await dovecot?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const imap = (password: string) => ({
    Server: '127.0.0.1',
    Port: dovecot.imapPort,
    Username: 'carol',
    Password: password,
    Security: 'none',
  });

  it('rejects an invalid import naming entry and field, storing nothing', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify([
        { EMailAddress: 'ok@example.test', IncomingCredentials: imap(GOOD) },
        { EMailAddress: 'broken@example.test', IncomingCredentials: { ...imap(GOOD), Port: 70000 } },
        { EMailAddress: 'not-an-address' },
      ]),
    );
    const run = await runCli(['accounts', 'import', file], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('entry 2 (broken@example.test): IncomingCredentials.Port');
    expect(run.stderr).toContain('entry 3');
    expect(run.stderr).toContain('nothing imported');
    const list = await runCli(['accounts', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('rejects a file that is not JSON, and a missing file, with exit 2', async () => {
    const file = join(dir, 'garbage.json');
    writeFileSync(file, '{ not json');
    expect((await runCli(['accounts', 'import', file], env)).stderr).toMatch(/not valid JSON/);
    const missing = await runCli(['accounts', 'import', join(dir, 'nope.json')], env);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('cannot read')]);
  });

  it('imports from stdin, checks, lists, shows and deletes; exit codes follow the results', async () => {
    const imported = await runCli(
      ['accounts', 'import', '-'],
      env,
      JSON.stringify([
        { EMailAddress: 'good@example.test', IncomingCredentials: imap(GOOD) },
        { EMailAddress: 'bad@example.test', IncomingCredentials: imap(BAD) },
      ]),
    );
    expect([imported.code, imported.stdout]).toEqual([0, expect.stringContaining('2 created')]);

    const good = await runCli(['check', '--account', '1', '--json'], env);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject([{ accountId: 1, ok: true, status: 'Ok' }]);

    const all = await runCli(['check', '--all'], env);
    expect(all.code).toBe(1);
    expect(all.stdout).toMatch(/2 checked, 1 ok, 1 failed/);
    expect(all.stdout).toMatch(/auth_rejected/);

    const list = await runCli(['accounts', 'list', '--status', 'failing', '--json'], env);
    expect(JSON.parse(list.stdout)).toMatchObject([{ id: 2, status: 'Failing', errorCount: 1 }]);

    const show = await runCli(['accounts', 'show', '2', '--transcript'], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/IMAP: FAILED auth_rejected in auth/);
    expect(show.stdout).toMatch(/C: \d+ AUTHENTICATE PLAIN\n.*C: \*\*\*\*\n/s);

    expect((await runCli(['accounts', 'delete', '2'], env)).code).toBe(0);
    const afterDelete = await runCli(['check', '--all', '--json'], env);
    expect(afterDelete.code).toBe(0);
    expect(JSON.parse(afterDelete.stdout).map((r: { accountId: number }) => r.accountId)).toEqual([1]);

    const everything = [imported, good, all, list, show, afterDelete]
      .map((r) => r.stdout + r.stderr)
      .join('\n');
    expect(everything).not.toContain(GOOD);
    expect(everything).not.toContain(BAD);
  });

  it('an account backing off after a refused login: shown with its next due time, skipped by check --all, tested by check --account', async () => {
    const imported = await runCli(
      ['accounts', 'import', '-'],
      env,
      JSON.stringify([{ EMailAddress: 'stale@example.test', IncomingCredentials: imap(BAD) }]),
    );
    expect(imported.code).toBe(0);
    const all = JSON.parse((await runCli(['accounts', 'list', '--json'], env)).stdout) as {
      id: number;
      emailAddress: string;
    }[];
    const id = all.find((a) => a.emailAddress === 'stale@example.test')!.id;
    expect((await runCli(['check', '--account', String(id)], env)).code).toBe(1);

    const show = await runCli(['accounts', 'show', String(id)], env);
    expect(show.stdout).toMatch(
      /backoff: +\(backoff ×1, auth_rejected\): 1 credential failure\(s\) in a row/,
    );
    expect(show.stdout).toMatch(/next due: \d{4}-/);
    const list = await runCli(['accounts', 'list'], env);
    expect(list.stdout).toMatch(new RegExp(`stale@example.test .*\\(backoff ×1, auth_rejected\\)`));
    const json = JSON.parse((await runCli(['accounts', 'show', String(id), '--json'], env)).stdout) as {
      authBackoff: unknown;
      nextDueAt: string;
    };
    expect(json.authBackoff).toEqual({ failures: 1, code: 'auth_rejected' });
    expect(Date.parse(json.nextDueAt)).toBeGreaterThan(Date.now());

    // A cron job's `check --all` does not retry it before its due time; a test by hand does.
    const skipped = await runCli(['check', '--all', '--json'], env);
    expect(skipped.stderr).toMatch(new RegExp(`skipped 1 account\\(s\\) backing off .*\\(${id}\\)`));
    expect(JSON.parse(skipped.stdout).map((r: { accountId: number }) => r.accountId)).not.toContain(id);
    const byHand = await runCli(['check', '--account', String(id), '--json'], env);
    expect(JSON.parse(byHand.stdout)).toMatchObject([{ accountId: id, ok: false }]);
    const after = JSON.parse((await runCli(['accounts', 'show', String(id), '--json'], env)).stdout) as {
      authBackoff: unknown;
    };
    expect(after.authBackoff).toEqual({ failures: 2, code: 'auth_rejected' });
    const included = await runCli(['check', '--all', '--include-backing-off', '--json'], env);
    expect(JSON.parse(included.stdout).map((r: { accountId: number }) => r.accountId)).toContain(id);
    expect(included.stderr).not.toMatch(/skipped/);
    expect((await runCli(['accounts', 'delete', String(id)], env)).code).toBe(0);
  });

  it('imports TLS trust settings: a CA for the server, or accepting an unverified certificate', async () => {
    const tls = { ...imap(GOOD), Port: dovecot.imapsPort, Security: 'tls' };
    const imported = await runCli(
      ['accounts', 'import', '-'],
      env,
      JSON.stringify([
        { EMailAddress: 'untrusted@example.test', IncomingCredentials: tls },
        { EMailAddress: 'own-ca@example.test', IncomingCredentials: { ...tls, CaPem: dovecot.caPem } },
        {
          EMailAddress: 'any-cert@example.test',
          IncomingCredentials: { ...tls, AcceptUnverifiedCert: true },
        },
      ]),
    );
    expect(imported.code).toBe(0);
    const ids = /ids (\d+), (\d+), (\d+)/.exec(imported.stdout)!.slice(1);
    const run = await runCli(['check', '--json', '--account', ...ids], env);
    const codes = (JSON.parse(run.stdout) as { sides: { code: string | null }[] }[]).map(
      (r) => r.sides[0]?.code,
    );
    expect(codes).toEqual(['tls_cert_untrusted', null, null]);
  });

  it('answers usage errors with exit 2 and a sentence', async () => {
    const cases: [string[], RegExp][] = [
      [['check'], /either --all or --account/],
      [['check', '--account', 'x'], /positive integer/],
      [['check', '--account', '999'], /does not exist/],
      [['accounts', 'show', '999'], /does not exist/],
      [['accounts', 'list', '--status', 'sideways'], /--status must be one of/],
      [['frobnicate'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args, env);
      expect([args, run.code]).toEqual([args, 2]);
      expect(run.stderr).toMatch(message);
    }
    const badConfig = await runCli(['accounts', 'list'], { ...env, MAILMON_HTTP_PORT: 'ninety' });
    expect([badConfig.code, badConfig.stderr]).toEqual([
      2,
      'mailmon: MAILMON_HTTP_PORT must be a number, got "ninety"\n',
    ]);
  });
});
