// Key handling end to end: the start-up guard (in-process and through the real CLI), key file
// generation on the embedded default, and `mailmon keys generate|check|rotate` as subprocesses.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { KeyConfigError } from '../../src/crypto/errors.js';
import { generateKeyLine, parseKeyList } from '../../src/crypto/key-source.js';
import { createKeyring } from '../../src/crypto/keyring.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { createLogger } from '../../src/logging/logger.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { LogCapture } from '../helpers/core.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { passwordSide } from '../helpers/keyring.js';
import { describeWithPeer } from '../peers/require.js';

const LINE_A = generateKeyLine('A');
const LINE_B = generateKeyLine('B');
const LINE_OLD = generateKeyLine('old-7');
const keyringOf = (spec: string) => {
  const entries = parseKeyList(spec, 'test');
  return createKeyring(entries, entries[0]!.id);
};
/** Key material as it could appear in output: the base64 of every key line. */
const KEY_TEXTS = [LINE_A, LINE_B, LINE_OLD].map((line) => line.slice(line.indexOf(':') + 1));

function expectOneSentence(run: CliRun, code: number, pattern: RegExp) {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stderr).toMatch(/^mailmon: [^\n]+\n$/);
  expect(run.stderr).toMatch(pattern);
  for (const key of KEY_TEXTS) expect(run.stdout + run.stderr).not.toContain(key);
}

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer ? describeWithPeer(dialect.peer, name, fn) : describe(name, fn);

  suite(`key handling on ${dialect.name}`, () => {
    let t: TestDb;
    let dir: string;
    beforeEach(async () => {
      t = await dialect.open();
      dir = mkdtempSync(join(tmpdir(), 'mailmon-keys-'));
    });
    afterEach(async () => {
      await t?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Env for the CLI subprocess: this database, no config file, no key unless given. */
    const cliEnv = (secretKey?: string): Record<string, string> => ({
      MAILMON_CONFIG: '/dev/null',
      MAILMON_DATABASE_URL: t.url,
      MAILMON_SECRET_KEY_FILE: join(dir, 'secret.key'),
      ...(secretKey === undefined ? {} : { MAILMON_SECRET_KEY: secretKey }),
    });

    async function openCore(secretKey?: string): Promise<{ core: Core; logs: LogCapture }> {
      const config = loadConfig({
        env: { MAILMON_CONFIG: '/dev/null', ...(secretKey ? { MAILMON_SECRET_KEY: secretKey } : {}) },
        overrides: { 'database.url': t.url, 'secrets.keyFile': join(dir, 'data', 'secret.key') },
      });
      const logs = new LogCapture();
      const logger = createLogger({ level: 'info', pretty: false, destination: logs });
      return { core: await createCore({ config, logger }), logs };
    }

    /** `n` accounts with both sides, stored under `spec`'s active key. */
    async function seed(n: number, spec: string): Promise<number[]> {
      const repo = new KnexAccountRepository(t.db.knex, keyringOf(spec));
      return repo.saveAccounts(
        Array.from({ length: n }, (_, i) => ({
          emailAddress: `k${i}@example.test`,
          associateId: 1,
          incoming: passwordSide(`in-${i}-${randomBytes(6).toString('hex')}`),
          outgoing: passwordSide(`out-${i}-${randomBytes(6).toString('hex')}`),
        })),
      );
    }

    it('refuses to start with encrypted rows and no key, in one sentence with exit code 2', async () => {
      await seed(2, LINE_A);
      const error = await openCore().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyConfigError);
      expect((error as Error).message).toMatch(
        /^the database holds 4 encrypted secret\(s\) under key id\(s\) "A" \(4 rows\) but key file .*secret\.key does not exist and MAILMON_SECRET_KEY is not set; restore that key from backup/,
      );
      const run = await runCli(['accounts', 'list'], cliEnv());
      expectOneSentence(
        run,
        2,
        /^mailmon: secret key: the database holds 4 encrypted secret\(s\) under key id\(s\) "A"/,
      );
    });

    it('refuses to start when stored values use key ids the keyring lacks, naming them', async () => {
      await seed(1, LINE_A);
      await seed(1, LINE_OLD);
      const run = await runCli(['accounts', 'list'], cliEnv(LINE_B));
      expectOneSentence(
        run,
        2,
        /^mailmon: secret key: 4 stored secret\(s\) are encrypted under key id\(s\) "A" \(2 rows\), "old-7" \(2 rows\), which MAILMON_SECRET_KEY does not contain; /,
      );
      // With the old keys after the new one, it starts.
      const { core } = await openCore(`${LINE_B},${LINE_A},${LINE_OLD}`);
      expect((await core.repo.listAccounts()).total).toBe(2);
      await core.close();
    });

    if (dialect.name === 'sqlite') {
      it('generates a 0600 key file on the first start of the embedded default and says where', async () => {
        const keyFile = join(dir, 'data', 'secret.key');
        const first = await openCore();
        const [id] = await first.core.repo.saveAccounts([
          {
            emailAddress: 'g@example.test',
            associateId: 1,
            incoming: passwordSide('generated-key-pw'),
            outgoing: null,
          },
        ]);
        await first.core.close();
        expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
        const warnings = first.logs.parsed().filter((l) => l.level === 40);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatchObject({ keyFile });
        expect(warnings[0]!.msg).toBe(
          `generated a new secret key in ${keyFile} (mode 0600); back it up: without it stored passwords cannot be read`,
        );

        const second = await openCore();
        expect(second.logs.lines).toEqual([]); // nothing generated this time
        expect((await second.core.repo.getAccountWithSecrets(id!))?.incoming?.password).toBe(
          'generated-key-pw',
        );
        await second.core.close();

        await unlink(keyFile); // lost key: rows exist now, so no new key is made up
        await expect(openCore()).rejects.toThrow(
          /^the database holds 1 encrypted secret\(s\) under key id\(s\) "k1"/,
        );
        await expect(stat(keyFile)).rejects.toThrow(/ENOENT/);
      });
    } else {
      it('never generates a key for a server database, even when it is empty', async () => {
        await expect(openCore()).rejects.toThrow(/key file .*secret\.key does not exist/);
        await expect(stat(join(dir, 'data', 'secret.key'))).rejects.toThrow(/ENOENT/);
      });
    }

    it('keys rotate moves A to B; keys check proves it, then finds a tampered row', async () => {
      const ids = await seed(3, LINE_A);
      const rotated = await runCli(['keys', 'rotate', '--batch-size', '4'], cliEnv(`${LINE_B},${LINE_A}`));
      expect(rotated.code, rotated.stderr).toBe(0);
      expect(rotated.stdout).toBe(
        'rotated 6 of 6 secret(s) to key "B" in 2 batch(es).\n' +
          'every stored secret is now under key "B"; run mailmon keys check, then older keys can be removed.\n',
      );
      expect(rotated.stderr).toBe(''); // not a TTY: no progress bar

      // Key A is no longer needed at all.
      const after = await runCli(['keys', 'check', '--json'], cliEnv(LINE_B));
      expect(after.code, after.stderr).toBe(0);
      expect(JSON.parse(after.stdout)).toEqual({
        total: 6,
        ok: 6,
        byKey: [{ keyId: 'B', active: true, ok: 6, failed: 0 }],
        needRotation: 0,
        failures: [],
      });

      const repo = new KnexAccountRepository(t.db.knex, keyringOf(LINE_B));
      const authId = (await repo.getAccount(ids[1]!))!.outgoing!.serviceAuthId;
      const row = await t.db.knex('service_auth').where('service_auth_id', authId).first();
      const tampered = `${row.password.slice(0, -3)}${row.password.at(-3) === 'x' ? 'y' : 'x'}${row.password.slice(-2)}`;
      await t.db.knex('service_auth').where('service_auth_id', authId).update({ password: tampered });
      const check = await runCli(['keys', 'check'], cliEnv(LINE_B));
      expectOneSentence(
        check,
        1,
        new RegExp(
          `^mailmon: 1 stored secret\\(s\\) do not decrypt: service_auth ${authId} \\(tampered\\)\\n$`,
        ),
      );
      expect(check.stdout).toContain(`service_auth ${authId}: tampered (key "B")`);
      expect(check.stdout).not.toContain(tampered.slice(10, 40));
    });
  });
}

describe('keys commands without a database', () => {
  it('keys generate prints a new key line and refuses a bad id', async () => {
    const generated = await runCli(['keys', 'generate', '--id', 'B2'], {});
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^B2:[A-Za-z0-9+/]{43}=\n$/);
    expect(await runCli(['keys', 'generate'], {})).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^k\d{8}T\d{6}:/),
    });
    expectOneSentence(await runCli(['keys', 'generate', '--id', 'no:colons'], {}), 2, /key id must be/);
  });

  it('keys rotate refuses a bad batch size before opening anything', async () => {
    expectOneSentence(
      await runCli(['keys', 'rotate', '--batch-size', '0'], { MAILMON_CONFIG: '/dev/null' }),
      2,
      /--batch-size must be an integer from 1 to 10000, got "0"/,
    );
  });
});
