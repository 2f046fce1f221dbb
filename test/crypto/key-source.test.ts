import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyConfigError } from '../../src/crypto/errors.js';
import { generateKeyLine, loadKeyring, parseKeyFile, parseKeyList } from '../../src/crypto/key-source.js';

const AAD = 'service_auth:7:password';

/** Runs `run`, expecting a KeyConfigError; returns it. */
async function configError(run: () => unknown): Promise<KeyConfigError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyConfigError);
    return error as KeyConfigError;
  }
  throw new Error('expected a KeyConfigError');
}

describe('parseKeyList (MAILMON_SECRET_KEY)', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);

  it('reads id:base64 entries, first one first, standard or URL-safe base64, padding optional', () => {
    const entries = parseKeyList(
      ` k2:${a.toString('base64')} , k1:${b.toString('base64url')},`,
      'MAILMON_SECRET_KEY',
    );
    expect(entries.map((e) => e.id)).toEqual(['k2', 'k1']);
    expect(entries[0]!.key.equals(a)).toBe(true);
    expect(entries[1]!.key.equals(b)).toBe(true);
  });

  it('accepts one bare base64 key as id k1', () => {
    const [entry, ...rest] = parseKeyList(a.toString('base64'), 'MAILMON_SECRET_KEY');
    expect(rest).toEqual([]);
    expect(entry!.id).toBe('k1');
    expect(entry!.key.equals(a)).toBe(true);
  });

  it('rejects bad entries with a message naming the source and never the key', async () => {
    const short = randomBytes(16).toString('base64');
    const long = randomBytes(33).toString('base64');
    const cases: [string, RegExp][] = [
      [
        `k1:${a.toString('base64')},k2:${short}`,
        /^MAILMON_SECRET_KEY entry 2 \(id "k2"\): key must be 32 bytes, got 16$/,
      ],
      [long, /^MAILMON_SECRET_KEY entry 1: key must be 32 bytes, got 33$/],
      [`k1:${a.toString('hex')}!`, /^MAILMON_SECRET_KEY entry 1 \(id "k1"\): key is not base64$/],
      [
        `k1:${a.toString('base64')},${b.toString('base64')}`,
        /^MAILMON_SECRET_KEY entry 2: expected id:base64key/,
      ],
      [`k1:${a.toString('base64')},k1:${b.toString('base64')}`, /entry 2: key id "k1" appears twice/],
      [`bad id:${a.toString('base64')}`, /^MAILMON_SECRET_KEY entry 1: expected id:base64key/],
      [' , ', /^MAILMON_SECRET_KEY contains no key$/],
    ];
    for (const [spec, message] of cases) {
      const error = await configError(() => parseKeyList(spec, 'MAILMON_SECRET_KEY'));
      expect(error.code).toBe('invalid');
      expect(error.message).toMatch(message);
      for (const secret of [short, long, a.toString('base64'), a.toString('hex'), b.toString('base64')]) {
        expect(error.message).not.toContain(secret);
      }
    }
  });
});

describe('parseKeyFile', () => {
  it('skips comments and blank lines and names the line of a bad entry', async () => {
    const good = generateKeyLine('new');
    const content = `# rotated 2025-01\n\n${good}\r\n  # old key below\nold:${randomBytes(31).toString('base64')}\n`;
    const error = await configError(() => parseKeyFile(content, '/etc/mailmon/key'));
    expect(error.message).toBe('key file /etc/mailmon/key line 5 (id "old"): key must be 32 bytes, got 31');
    expect(parseKeyFile(`# only\n${good}\n`, 'f').map((e) => e.id)).toEqual(['new']);
    expect((await configError(() => parseKeyFile('# nothing\n\n', 'f'))).message).toBe(
      'key file f contains no key',
    );
  });
});

describe('generateKeyLine', () => {
  it('makes a fresh 32-byte key line with the given id', async () => {
    const line = generateKeyLine('k7');
    expect(line).toMatch(/^k7:[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(line.slice(3), 'base64')).toHaveLength(32);
    expect(generateKeyLine('k7')).not.toBe(line);
    expect((await configError(() => generateKeyLine('k:7'))).code).toBe('invalid');
  });
});

describe('loadKeyring', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailmon-keys-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses MAILMON_SECRET_KEY before the key file, first entry active', async () => {
    const keyFile = join(dir, 'absent', 'secret.key');
    const spec = `k2:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}`;
    const loaded = await loadKeyring({ secretKey: spec, keyFile, generateIfMissing: true });
    expect(loaded.source).toBe('MAILMON_SECRET_KEY');
    expect(loaded.keyring.activeKeyId).toBe('k2');
    expect(loaded.generatedPath).toBeUndefined();
    await expect(stat(join(dir, 'absent'))).rejects.toThrow(/ENOENT/);
  });

  it('generates a 0600 key file in a new directory once, then reuses it', async () => {
    const keyFile = join(dir, 'data', 'nested', 'secret.key');
    const first = await loadKeyring({ secretKey: '  ', keyFile, generateIfMissing: true });
    expect(first.generatedPath).toBe(keyFile);
    expect(first.source).toBe(keyFile);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'data'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, 'data', 'nested'))).toEqual(['secret.key']); // no temp file left
    expect(await readFile(keyFile, 'utf8')).toMatch(/^# mailmon secret key[^]*\nk1:[A-Za-z0-9+/]{43}=\n$/);

    const stored = first.keyring.encrypt('s3cret', AAD);
    const second = await loadKeyring({ keyFile, generateIfMissing: true });
    expect(second.generatedPath).toBeUndefined();
    expect(second.keyring.decrypt(stored, AAD)).toBe('s3cret');
  });

  it('lets exactly one of two concurrent first starts generate the key', async () => {
    const keyFile = join(dir, 'secret.key');
    const loads = await Promise.all(
      Array.from({ length: 4 }, () => loadKeyring({ keyFile, generateIfMissing: true })),
    );
    expect(loads.filter((l) => l.generatedPath).length).toBe(1);
    const stored = loads[0]!.keyring.encrypt('same key', AAD);
    for (const { keyring } of loads) expect(keyring.decrypt(stored, AAD)).toBe('same key');
    expect(await readdir(dir)).toEqual(['secret.key']);
  });

  it('refuses a key file that group or others can access', async () => {
    const keyFile = join(dir, 'secret.key');
    await writeFile(keyFile, `${generateKeyLine('k1')}\n`, { mode: 0o600 });
    for (const mode of [0o640, 0o604, 0o660]) {
      await chmod(keyFile, mode);
      const error = await configError(() => loadKeyring({ keyFile, generateIfMissing: true }));
      expect(error.code).toBe('insecure_permissions');
      expect(error.message).toBe(
        `key file ${keyFile} is accessible by group or others (mode 0${mode.toString(8)}); run: chmod 600 ${keyFile}`,
      );
    }
    await chmod(keyFile, 0o400);
    expect((await loadKeyring({ keyFile, generateIfMissing: false })).keyring.activeKeyId).toBe('k1');
  });

  it('says what is missing when there is no key and none may be generated', async () => {
    const none = await configError(() => loadKeyring({ generateIfMissing: true }));
    expect(none.code).toBe('missing');
    expect(none.message).toBe('no secret key configured: set MAILMON_SECRET_KEY or a key file');

    const keyFile = join(dir, 'secret.key');
    const absent = await configError(() => loadKeyring({ keyFile, generateIfMissing: false }));
    expect(absent.code).toBe('missing');
    expect(absent.message).toContain(keyFile);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects an existing key file with a bad key without regenerating it', async () => {
    const keyFile = join(dir, 'secret.key');
    await writeFile(keyFile, 'k1:tooshort\n', { mode: 0o600 });
    const error = await configError(() => loadKeyring({ keyFile, generateIfMissing: true }));
    expect(error.message).toBe(`key file ${keyFile} line 1 (id "k1"): key must be 32 bytes, got 6`);
    expect(await readFile(keyFile, 'utf8')).toBe('k1:tooshort\n');
  });
});
