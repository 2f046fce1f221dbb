import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyConfigError } from './errors.js';
import { createKeyring, KEY_BYTES, KEY_ID_PATTERN, type KeyEntry, type Keyring } from './keyring.js';

/** Id given to a key configured as a single bare base64 value, and to a generated key. */
export const DEFAULT_KEY_ID = 'k1';

export interface KeySourceOptions {
  /**
   * MAILMON_SECRET_KEY: `id:base64key[,id:base64key...]`, the first entry is active; or a single
   * bare base64 32-byte key (id "k1"). When set it wins over `keyFile`.
   */
  secretKey?: string;
  /** Key file path: one `id:base64key` per line, the first is active; lines starting with # are comments. */
  keyFile?: string;
  /** When no key is configured and `keyFile` does not exist, generate one there (mode 0600). */
  generateIfMissing: boolean;
}

export interface LoadedKeyring {
  keyring: Keyring;
  /** Where the keys came from, for the start-up log: "MAILMON_SECRET_KEY" or the key file path. */
  source: string;
  /** Set when this call generated the key file; tell the operator to back it up. */
  generatedPath?: string;
}

/** Loads the keyring from config; throws KeyConfigError with a message naming the source, never a key. */
export async function loadKeyring(options: KeySourceOptions): Promise<LoadedKeyring> {
  const secretKey = options.secretKey?.trim();
  if (secretKey) {
    return {
      keyring: keyringOf(parseKeyList(secretKey, 'MAILMON_SECRET_KEY')),
      source: 'MAILMON_SECRET_KEY',
    };
  }
  const { keyFile } = options;
  if (!keyFile) {
    throw new KeyConfigError('missing', 'no secret key configured: set MAILMON_SECRET_KEY or a key file');
  }
  let generatedPath: string | undefined;
  if (!(await exists(keyFile))) {
    if (!options.generateIfMissing) {
      throw new KeyConfigError(
        'missing',
        `key file ${keyFile} does not exist and MAILMON_SECRET_KEY is not set`,
      );
    }
    // Another process may win the race; then we read its key below instead of replacing it.
    if (await createKeyFile(keyFile, generatedKeyFileContent())) generatedPath = keyFile;
  }
  const entries = await readKeyFile(keyFile);
  return { keyring: keyringOf(entries), source: keyFile, ...(generatedPath ? { generatedPath } : {}) };
}

/** A fresh `id:base64key` line for a key file or MAILMON_SECRET_KEY (`mailmon keys generate`). */
export function generateKeyLine(id: string): string {
  if (!KEY_ID_PATTERN.test(id)) {
    throw new KeyConfigError('invalid', 'a key id must be 1-64 characters of A-Z a-z 0-9 _ -');
  }
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** Parses MAILMON_SECRET_KEY's comma-separated form. `sourceName` appears in error messages. */
export function parseKeyList(text: string, sourceName: string): KeyEntry[] {
  const items = text.split(',').map((item) => item.trim());
  return parseEntries(
    items.map((item, i) => ({ item, label: `${sourceName} entry ${i + 1}` })),
    sourceName,
  );
}

/** Parses a key file's content: one entry per line, blank lines and # comments skipped. */
export function parseKeyFile(content: string, path: string): KeyEntry[] {
  const lines = content
    .split(/\r?\n/)
    .map((line, i) => ({ item: line.trim(), label: `key file ${path} line ${i + 1}` }));
  return parseEntries(
    lines.filter(({ item }) => !item.startsWith('#')),
    `key file ${path}`,
  );
}

function parseEntries(items: { item: string; label: string }[], sourceName: string): KeyEntry[] {
  const present = items.filter(({ item }) => item !== '');
  if (present.length === 0) throw new KeyConfigError('invalid', `${sourceName} contains no key`);
  const only = present.length === 1 ? present[0] : undefined;
  if (only && !only.item.includes(':'))
    return [{ id: DEFAULT_KEY_ID, key: decodeKey(only.item, only.label) }];

  const seen = new Set<string>();
  return present.map(({ item, label }) => {
    const colon = item.indexOf(':');
    const id = item.slice(0, colon);
    if (colon < 0 || !KEY_ID_PATTERN.test(id)) {
      // The bad id is not echoed: a misplaced key could sit where the id belongs.
      throw new KeyConfigError('invalid', `${label}: expected id:base64key with an id of A-Z a-z 0-9 _ -`);
    }
    if (seen.has(id)) throw new KeyConfigError('invalid', `${label}: key id "${id}" appears twice`);
    seen.add(id);
    return { id, key: decodeKey(item.slice(colon + 1).trim(), `${label} (id "${id}")`) };
  });
}

function generatedKeyFileContent(): string {
  return [
    `# mailmon secret key, generated ${new Date().toISOString()}.`,
    '# Back it up with the database: without it the stored passwords cannot be decrypted.',
    '# The first key line encrypts; older lines below it still decrypt (see `mailmon keys rotate`).',
    generateKeyLine(DEFAULT_KEY_ID),
    '',
  ].join('\n');
}

function decodeKey(text: string, label: string): Buffer {
  // Standard or URL-safe alphabet, padding optional. Buffer.from skips bad characters, so check first.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    throw new KeyConfigError('invalid', `${label}: key is not base64`);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new KeyConfigError('invalid', `${label}: key must be ${KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

function keyringOf(entries: KeyEntry[]): Keyring {
  const [active] = entries;
  if (!active) throw new KeyConfigError('invalid', 'no key configured');
  return createKeyring(entries, active.id);
}

async function readKeyFile(path: string): Promise<KeyEntry[]> {
  const info = await stat(path);
  if (!info.isFile()) throw new KeyConfigError('invalid', `key file ${path} is not a regular file`);
  // POSIX modes do not exist on Windows; there the ACLs of the data directory must protect it.
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new KeyConfigError(
      'insecure_permissions',
      `key file ${path} is accessible by group or others (mode ${mode}); run: chmod 600 ${path}`,
    );
  }
  return parseKeyFile(await readFile(path, 'utf8'), path);
}

/**
 * Writes `content` to `path` atomically with mode 0600, without ever replacing an existing file:
 * a temp file is written and fsynced, then hard-linked into place (link fails with EEXIST where
 * rename would silently overwrite a key another process just generated and maybe used).
 * Returns false when `path` already existed.
 */
async function createKeyFile(path: string, content: string): Promise<boolean> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp);
  }
  const dirHandle = await open(dir, 'r'); // fsync the directory so the new name survives a crash
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return true;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
