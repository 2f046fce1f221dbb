// The SQL of the stored-secret maintenance (`keys check`, `keys rotate`, the start-up key guard) on
// service_auth: counting secrets per key id, reading them in id order, and compare-and-set writes.
// The crypto module decides what to do with the values; the dialect quirks (byte-exact comparison
// on MySQL) stay here with the rest of the storage.
import type { Knex } from 'knex';
import type { SecretColumn } from './account-rows.js';
import { bytesEqual, isMysql } from './connection.js';

const TABLE = 'service_auth';
const ID = 'service_auth_id';
/** Every stored secret starts with this (see crypto/keyring.ts). */
export const FORMAT_PREFIX = 'mm1:';

/** One stored secret: `password` holds the value of the column being worked on. */
export interface SecretRow {
  id: number;
  password: string;
}

/** One row's re-encryption: write `to` if the row still holds `from`. */
export interface RotationPlan {
  id: number;
  from: string;
  to: string;
}

/** Secrets of one column under one key id (values starting with "mm1:<key id>:"). */
export interface KeyIdCount {
  keyId: string;
  rows: number;
  /** The lowest row id under this key. */
  sampleId: number;
}

/** Every service_auth row, encrypted or not. */
export async function countSecretRows(knex: Knex): Promise<number> {
  const [row] = (await knex(TABLE).count({ n: '*' })) as { n: number | string }[];
  return Number(row?.n ?? 0);
}

/** Secrets in `column` per key id, counted in SQL. Key ids compare byte for byte. */
export async function countByKeyId(knex: Knex, column: SecretColumn): Promise<KeyIdCount[]> {
  // MySQL's default collation would fold "K1" and "k1" into one group: cast to binary.
  const keyIdExpr = isMysql(knex)
    ? `CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(${column}, ':', 2), ':', -1) AS BINARY)`
    : `substr(${column}, 5, instr(substr(${column}, 5), ':') - 1)`;
  const rows = (await knex(TABLE)
    .select(knex.raw(`${keyIdExpr} as key_id`))
    .count({ n: '*' })
    .min({ sample: ID })
    .whereRaw(`substr(${column}, 1, 4) = ?`, [FORMAT_PREFIX])
    .groupByRaw(keyIdExpr)) as { key_id: string | Buffer; n: number | string; sample: number }[];
  return rows.map((g) => ({ keyId: String(g.key_id), rows: Number(g.n), sampleId: Number(g.sample) }));
}

/** One row's value in `column`, or null when the row is gone or holds none. */
export async function readSecret(knex: Knex, id: number, column: SecretColumn): Promise<SecretRow | null> {
  const row = (await knex(TABLE).select({ id: ID, password: column }).where(ID, id).first()) as
    { id: number; password: string | null } | undefined;
  return row?.password == null ? null : { id: row.id, password: row.password };
}

/**
 * Rows after `cursor` in id order holding a value in `column` (NULL = no such secret); with
 * `notUnder`, only values that do not start with "mm1:<notUnder>:".
 */
export async function readSecretPage(
  knex: Knex,
  cursor: number,
  limit: number,
  notUnder: string | false,
  column: SecretColumn,
): Promise<SecretRow[]> {
  const query = knex(TABLE)
    .select({ id: ID, password: column })
    .where(ID, '>', cursor)
    .whereNotNull(column)
    .orderBy(ID)
    .limit(limit);
  if (notUnder !== false) notUnderKey(knex, query, notUnder, column);
  return (await query) as SecretRow[];
}

/** The rows among `ids` that still hold a value in `column`, in id order. */
export async function readSecretsById(
  knex: Knex,
  ids: readonly number[],
  column: SecretColumn,
): Promise<SecretRow[]> {
  return (await knex(TABLE)
    .select({ id: ID, password: column })
    .whereIn(ID, ids)
    .whereNotNull(column)
    .orderBy(ID)) as SecretRow[];
}

/** Values in `column` not under `keyId` (including values not in the mm1 format). */
export async function countNotUnderKey(knex: Knex, keyId: string, column: SecretColumn): Promise<number> {
  const query = knex(TABLE).count({ n: '*' }).whereNotNull(column);
  notUnderKey(knex, query, keyId, column);
  const [row] = (await query) as { n: number | string }[];
  return Number(row?.n ?? 0);
}

/**
 * Writes `plans` in one transaction, each row only if it still holds the ciphertext it was planned
 * from. The first statement is a write, so SQLite takes its write lock at once (waiting out
 * busy_timeout) instead of failing to upgrade a read snapshot.
 */
export async function compareAndSetSecrets(
  knex: Knex,
  plans: readonly RotationPlan[],
  column: SecretColumn,
): Promise<{ written: number[]; conflicts: number[] }> {
  const written: number[] = [];
  const conflicts: number[] = [];
  if (plans.length === 0) return { written, conflicts };
  const same = bytesEqual(knex, column);
  await knex.transaction(async (trx) => {
    for (const plan of plans) {
      const changed = await trx(TABLE)
        .where(ID, plan.id)
        .whereRaw(same, [plan.from])
        .update({ [column]: plan.to });
      (changed === 1 ? written : conflicts).push(plan.id);
    }
  });
  return { written, conflicts };
}

function notUnderKey(knex: Knex, query: Knex.QueryBuilder, keyId: string, column: SecretColumn): void {
  const prefix = `${FORMAT_PREFIX}${keyId}:`;
  // Byte-exact: SQLite's <> is; MySQL's default collation would treat key "K1" as "k1".
  const sql = isMysql(knex) ? `CAST(substr(${column}, 1, ?) AS BINARY) <> ?` : `substr(${column}, 1, ?) <> ?`;
  query.whereRaw(sql, [prefix.length, prefix]);
}
