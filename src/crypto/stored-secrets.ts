// Which key ids the stored secrets use, and the start-up guard built on that: refuse to run when
// encrypted rows exist but their key is missing. Shared row helpers for `keys check` and `keys rotate`
// (rotate.ts) live here too. Nothing here returns, logs or throws a plaintext, a ciphertext or a key.
import type { Knex } from 'knex';
import { SECRET_COLUMNS, secretAad, type SecretColumn } from '../db/account-rows.js';
import { countByKeyId, countSecretRows, readSecret, type SecretRow } from '../db/secret-store.js';
import { KeyConfigError, SecretDecryptError, type SecretDecryptErrorCode } from './errors.js';
import type { Keyring } from './keyring.js';

export type { SecretRow } from '../db/secret-store.js';

export interface KeyUse {
  keyId: string;
  rows: number;
  /** The lowest row id under this key: the start-up guard decrypts it to see whether the key is known. */
  sampleId: number;
  /** The column of that sample. */
  sampleColumn: SecretColumn;
}

export interface StoredKeyUsage {
  /** Every service_auth row, encrypted or not. */
  rows: number;
  /** Secrets per key id, encrypted ones only (values starting with "mm1:"), over every secret column. */
  byKey: KeyUse[];
}

/** Secrets per key id, counted in SQL (db/secret-store.ts). Key ids compare byte for byte. */
export async function storedKeyUsage(knex: Knex): Promise<StoredKeyUsage> {
  const [total, ...groups] = await Promise.all([
    countSecretRows(knex),
    ...SECRET_COLUMNS.map((column) => countByKeyId(knex, column)),
  ]);
  const uses = new Map<string, KeyUse>();
  groups.forEach((rows, i) => {
    for (const g of rows) {
      const use = uses.get(g.keyId);
      if (use === undefined) uses.set(g.keyId, { ...g, sampleColumn: SECRET_COLUMNS[i]! });
      else use.rows += g.rows;
    }
  });
  const byKey = [...uses.values()].sort((a, b) => b.rows - a.rows || a.keyId.localeCompare(b.keyId));
  return { rows: total, byKey };
}

/**
 * Adds what the database holds to a "no key configured" error: a new key cannot decrypt stored rows,
 * so the operator has to restore the old one. Other errors pass through unchanged.
 */
export function explainMissingKey(error: unknown, usage: StoredKeyUsage): unknown {
  const encrypted = usage.byKey.reduce((sum, k) => sum + k.rows, 0);
  if (!(error instanceof KeyConfigError) || error.code !== 'missing' || encrypted === 0) return error;
  return new KeyConfigError(
    'missing',
    `the database holds ${encrypted} encrypted secret(s) under key id(s) ${quoteIds(usage.byKey)} but ${error.message}; ` +
      'restore that key from backup (a new key cannot decrypt them)',
  );
}

/**
 * The start-up guard: refuses (KeyConfigError 'missing') when stored values use key ids the keyring
 * lacks, naming those ids and how many rows use them. A key id counts as present when one of its
 * rows gets past the key lookup; a row that then fails authentication is `keys check`'s business.
 */
export async function assertKeyringCoversStored(
  knex: Knex,
  keyring: Keyring,
  usage: StoredKeyUsage,
  source: string,
): Promise<void> {
  const missing: KeyUse[] = [];
  for (const use of usage.byKey) {
    if (use.keyId === keyring.activeKeyId) continue;
    const row = await readSecret(knex, use.sampleId, use.sampleColumn);
    if (row === null) continue; // deleted or changed since it was counted
    if (failureOf(row, keyring, use.sampleColumn) === 'unknown_key') missing.push(use);
  }
  if (missing.length === 0) return;
  const rows = missing.reduce((sum, k) => sum + k.rows, 0);
  throw new KeyConfigError(
    'missing',
    `${rows} stored secret(s) are encrypted under key id(s) ${quoteIds(missing)}, which ${source} does not contain; ` +
      'add the old key line(s) after the active one (old keys still decrypt) and start again',
  );
}

export function failureOf(
  row: SecretRow,
  keyring: Keyring,
  column: SecretColumn,
): SecretDecryptErrorCode | null {
  try {
    keyring.decrypt(row.password, secretAad(row.id, column));
    return null;
  } catch (error) {
    if (error instanceof SecretDecryptError) return error.code;
    throw error;
  }
}

function quoteIds(uses: readonly KeyUse[]): string {
  return uses.map((u) => `"${u.keyId}" (${u.rows} row${u.rows === 1 ? '' : 's'})`).join(', ');
}
