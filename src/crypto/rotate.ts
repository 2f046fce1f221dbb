// Maintenance of the stored secrets (service_auth.password and the OAuth2 client secret and refresh
// token, see SECRET_COLUMNS): `keys check` (does every secret decrypt?) and `keys rotate`
// (re-encrypt every secret under the active key). The start-up guard is in stored-secrets.ts.
// Nothing here returns, logs or throws a plaintext, a ciphertext or a key.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Knex } from 'knex';
import { SECRET_COLUMNS, secretAad, type SecretColumn } from '../db/account-rows.js';
import {
  compareAndSetSecrets,
  countNotUnderKey,
  readSecretPage,
  readSecretsById,
  type RotationPlan,
  type SecretRow,
} from '../db/secret-store.js';
import { SecretDecryptError, type SecretDecryptErrorCode } from './errors.js';
import { failureOf } from './stored-secrets.js';
import type { Keyring } from './keyring.js';

/** Rows read per query by checkSecrets. */
const CHECK_PAGE = 500;
/** How often one row is retried when a concurrent writer changed it between read and write. */
const MAX_CONFLICT_ATTEMPTS = 3;

/** One secret that does not decrypt. `keyId` is null when the value is not in the mm1 format at all. */
export interface SecretFailure {
  serviceAuthId: number;
  keyId: string | null;
  code: SecretDecryptErrorCode;
  /** The column, when it is not `password` (an OAuth2 secret). */
  column?: SecretColumn;
}

const failure = (
  id: number,
  keyId: string | null,
  code: SecretDecryptErrorCode,
  column: SecretColumn,
): SecretFailure => ({ serviceAuthId: id, keyId, code, ...(column === 'password' ? {} : { column }) });

export interface KeyCheckCounts {
  keyId: string;
  active: boolean;
  ok: number;
  failed: number;
}

export interface CheckSummary {
  total: number;
  ok: number;
  /** Per key id, the active key first. Malformed values are counted only in `failures`. */
  byKey: KeyCheckCounts[];
  /** Rows that decrypt but are not under the active key (`keys rotate` would re-encrypt them). */
  needRotation: number;
  failures: SecretFailure[];
}

/** Decrypts every stored secret under `keyring` (and drops the plaintext): proves the keyring reads them all. */
export async function checkSecrets(knex: Knex, keyring: Keyring): Promise<CheckSummary> {
  const counts = new Map<string, KeyCheckCounts>();
  const summary: CheckSummary = { total: 0, ok: 0, byKey: [], needRotation: 0, failures: [] };
  for (const column of SECRET_COLUMNS) {
    for (let cursor = 0; ;) {
      const page = await readSecretPage(knex, cursor, CHECK_PAGE, false, column);
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.id;
      for (const row of page) {
        summary.total += 1;
        const keyId = keyIdOrNull(row, keyring);
        const code = failureOf(row, keyring, column);
        if (keyId !== null) {
          const entry = counts.get(keyId) ?? {
            keyId,
            active: keyId === keyring.activeKeyId,
            ok: 0,
            failed: 0,
          };
          counts.set(keyId, entry);
          if (code === null) entry.ok += 1;
          else entry.failed += 1;
        }
        if (code !== null) summary.failures.push(failure(row.id, keyId, code, column));
        else if (keyId !== keyring.activeKeyId) summary.needRotation += 1;
      }
    }
  }
  summary.ok = summary.total - summary.failures.length;
  summary.byKey = [...counts.values()].sort(
    (a, b) => Number(b.active) - Number(a.active) || a.keyId.localeCompare(b.keyId),
  );
  return summary;
}

export interface RotateProgress {
  /** Rows handled so far (rotated, changed concurrently, or failed). */
  done: number;
  /** Rows not under the active key when the rotation started. */
  total: number;
  batches: number;
}

export interface RotateOptions {
  /** Rows re-encrypted per transaction. Default 100. */
  batchSize?: number;
  /** Called after each committed batch. */
  onProgress?: (progress: RotateProgress) => void;
  /** Aborting stops after the current batch; every committed batch stays done (the next run resumes). */
  signal?: AbortSignal;
}

export interface RotateSummary {
  activeKeyId: string;
  /** Rows not under the active key at the start. */
  pending: number;
  rotated: number;
  /** Rows another writer (the daemon, the API) re-saved during the rotation, already under the active key. */
  changedConcurrently: number;
  failed: SecretFailure[];
  batches: number;
  aborted: boolean;
  /** Rows still not under the active key at the end (failures, rows re-saved under an old key, or aborted). */
  remaining: number;
}

export type { RotationPlan } from '../db/secret-store.js';

/**
 * Re-encrypts every secret that is not under the active key, `batchSize` rows per short
 * transaction. Each write is a compare-and-set on the ciphertext that was read, so a password the
 * daemon or the API saves meanwhile is never overwritten with the old one; such rows are re-read and
 * retried. Only rows under another key id are picked, so a killed rotation just continues next run.
 */
export async function rotateSecrets(
  knex: Knex,
  keyring: Keyring,
  options: RotateOptions = {},
): Promise<RotateSummary> {
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  const summary: RotateSummary = {
    activeKeyId: keyring.activeKeyId,
    pending: await countAllPending(knex, keyring),
    rotated: 0,
    changedConcurrently: 0,
    failed: [],
    batches: 0,
    aborted: false,
    remaining: 0,
  };
  for (const column of SECRET_COLUMNS) {
    for (let cursor = 0; !summary.aborted;) {
      // better-sqlite3 answers within microtasks: yield a turn per batch so a signal (the abort), timers
      // and other work in this process (a sweep, HTTP) get through during a long rotation.
      await nextTurn();
      if (options.signal?.aborted) {
        summary.aborted = true;
        break;
      }
      const rows = await readSecretPage(knex, cursor, batchSize, keyring.activeKeyId, column);
      if (rows.length === 0) break;
      cursor = rows[rows.length - 1]!.id;
      await rotateBatch(knex, keyring, rows, summary, column);
      summary.batches += 1;
      const done = summary.rotated + summary.changedConcurrently + summary.failed.length;
      options.onProgress?.({ done, total: summary.pending, batches: summary.batches });
    }
  }
  summary.remaining = await countAllPending(knex, keyring);
  return summary;
}

async function rotateBatch(
  knex: Knex,
  keyring: Keyring,
  rows: SecretRow[],
  summary: RotateSummary,
  column: SecretColumn,
) {
  let current = rows;
  for (let attempt = 1; current.length > 0 && attempt <= MAX_CONFLICT_ATTEMPTS; attempt++) {
    const { plans, failures } = planRotation(current, keyring, column);
    summary.failed.push(...failures);
    const { written, conflicts } = await applyRotation(knex, plans, column);
    summary.rotated += written.length;
    if (conflicts.length === 0) return;
    // Re-read what changed under us: rows now under the active key (or emptied) are done; the rest are retried.
    const fresh = await readSecretsById(knex, conflicts, column);
    current = fresh.filter((row) => needsRotation(row, keyring));
    const gone = conflicts.length - fresh.length;
    summary.changedConcurrently += fresh.length - current.length + gone;
  }
}

/** Decrypts each secret under its own key and encrypts it under the active one; secrets that fail are listed. */
export function planRotation(
  rows: readonly SecretRow[],
  keyring: Keyring,
  column: SecretColumn = 'password',
) {
  const plans: RotationPlan[] = [];
  const failures: SecretFailure[] = [];
  for (const row of rows) {
    const aad = secretAad(row.id, column);
    try {
      plans.push({
        id: row.id,
        from: row.password,
        to: keyring.encrypt(keyring.decrypt(row.password, aad), aad),
      });
    } catch (error) {
      if (!(error instanceof SecretDecryptError)) throw error;
      failures.push(failure(row.id, keyIdOrNull(row, keyring), error.code, column));
    }
  }
  return { plans, failures };
}

/** Writes `plans` in one transaction, each row only if it still holds the ciphertext it was planned from. */
export function applyRotation(
  knex: Knex,
  plans: readonly RotationPlan[],
  column: SecretColumn = 'password',
): Promise<{ written: number[]; conflicts: number[] }> {
  return compareAndSetSecrets(knex, plans, column);
}

async function countAllPending(knex: Knex, keyring: Keyring): Promise<number> {
  let pending = 0;
  for (const column of SECRET_COLUMNS) pending += await countNotUnderKey(knex, keyring.activeKeyId, column);
  return pending;
}

function needsRotation(row: SecretRow, keyring: Keyring): boolean {
  return keyIdOrNull(row, keyring) !== keyring.activeKeyId;
}

function keyIdOrNull(row: SecretRow, keyring: Keyring): string | null {
  try {
    return keyring.keyIdOf(row.password);
  } catch {
    return null;
  }
}
