// Check results: applying an outcome to the account's status (nextStatus, under the row lock), the history
// table and the last result per side. Split from account-store.ts, which owns accounts and secrets.
import type { Knex } from 'knex';
import type { CheckRecord, HistoryEntry, RecordedCheck, SideCheck } from '../accounts/repository.js';
import { nextStatus, type StatusState } from '../accounts/status.js';
import { AccountStatus } from '../accounts/types.js';
import { LIMITS } from '../config/schema.js';
import { isMysql } from './connection.js';
import { toSideCheck, type EmailAccountRow, type LastCheckRow } from './account-rows.js';

const ACCOUNT = 'email_account';

/**
 * Applies a check's outcome atomically (nextStatus under the row's write lock), writes history and the last
 * result per side. Null (nothing written) when the account was deleted or removed meanwhile, or
 * saved since `record.loadedUpdated`: that result tested credentials that are no longer stored, and
 * the save has made the account due for a check of the new ones.
 */
export async function recordCheck(
  knex: Knex,
  id: number,
  record: CheckRecord,
  failedThreshold: number,
): Promise<RecordedCheck | null> {
  const at = record.checkedAt.getTime();
  return knex.transaction(async (trx) => {
    // Touch the row first: it takes the write lock on every dialect (SQLite's database lock,
    // InnoDB's row lock), so the "before" we read next is the state our update applies to.
    // The fence: only the claim's holder writes, and only while nobody edited the account since.
    const unchanged = record.loadedUpdated === undefined ? {} : { updated: record.loadedUpdated.getTime() };
    const fence =
      record.claim === undefined
        ? {}
        : { lease_token: record.claim.token, edit_version: record.claim.editVersion };
    const touched = await trx(ACCOUNT)
      .where({ email_account_id: id, ...unchanged, ...fence })
      .whereNot('account_status', AccountStatus.Deleted)
      .update({ updated: at });
    if (touched === 0) return null;
    // Read-modify-write is safe here: the touch above holds the row's write lock until commit (a
    // locking read on MySQL, so the read sees the newest committed count), so no writer can come in
    // between; the one status rule (nextStatus) stays a pure, table-tested function.
    const before = await readState(trx, id);
    const after = nextStatus(before, record.outcome, failedThreshold);
    await trx(ACCOUNT)
      .where('email_account_id', id)
      .update({
        account_status: after.status,
        error_count: after.errorCount,
        error_reason: after.errorReason,
        last_check_at: at,
        next_due_at: record.nextDueAt.getTime(),
        ...(record.authBackoff === undefined
          ? {}
          : { auth_failures: record.authBackoff.failures, auth_backoff_code: record.authBackoff.code }),
        updated: at,
        ...(record.outcome.ok ? { last_success_at: at } : {}),
        // A recorded result ends the claim and proves the account does not take replicas down.
        lease_owner: null,
        lease_token: null,
        claimed_due_at: null,
        claim_attempts: 0,
      });
    await writeSides(trx, id, record);
    return { before, after };
  });
}

async function writeSides(trx: Knex.Transaction, id: number, record: CheckRecord): Promise<void> {
  for (const side of record.sides) {
    const columns = {
      email_account_id: id,
      side: side.side,
      checked_at: side.checkedAt.getTime(),
      ok: side.ok,
      code: side.code,
      phase: side.phase,
      // The column is VARCHAR(255): MySQL in strict mode refuses longer, and the write would be lost.
      reason: side.reason === null ? null : side.reason.slice(0, LIMITS.errorReasonLength),
      duration_ms: Math.round(side.durationMs),
    };
    await trx('check_result').insert(columns);
    const lastSuccess = side.ok ? { last_success_at: columns.checked_at } : {};
    // Like the metrics: a failure that never reached TLS keeps the certificate seen before.
    const notAfter = Date.parse(side.details?.tls?.notAfter ?? '');
    const tls = Number.isFinite(notAfter)
      ? { tls_not_after: notAfter }
      : side.ok
        ? { tls_not_after: null }
        : {};
    await trx('last_check')
      .insert({
        ...columns,
        last_success_at: null,
        tls_not_after: null,
        ...lastSuccess,
        ...tls,
        details: JSON.stringify(side.details),
      })
      .onConflict(['email_account_id', 'side'])
      .merge(
        [...Object.keys(columns), ...Object.keys(lastSuccess), ...Object.keys(tls), 'details'].filter(
          (c) => c !== 'email_account_id' && c !== 'side',
        ),
      );
  }
}

export async function lastChecks(knex: Knex, id: number): Promise<SideCheck[]> {
  const rows = await knex<LastCheckRow>('last_check').where('email_account_id', id).orderBy('side');
  return rows.map(toSideCheck);
}

export async function history(
  knex: Knex,
  id: number,
  options: { limit?: number } = {},
): Promise<HistoryEntry[]> {
  const rows = await knex<LastCheckRow>('check_result')
    .where('email_account_id', id)
    .orderBy([
      { column: 'checked_at', order: 'desc' },
      { column: 'check_result_id', order: 'desc' },
    ])
    .limit(options.limit ?? 100);
  return rows.map((r) => {
    const {
      lastSuccessAt: _l,
      details: _d,
      ...entry
    } = toSideCheck({ ...r, last_success_at: null, details: null });
    return entry;
  });
}

/**
 * Deletes history older than `olderThan`, `batch` rows per statement (each its own short
 * transaction), so pruning a large backlog never holds long locks beside the claims and writes.
 */
export async function pruneHistory(knex: Knex, olderThan: Date, batch = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = isMysql(knex)
      ? Number(
          (
            (await knex.raw('DELETE FROM check_result WHERE checked_at < ? ORDER BY checked_at LIMIT ?', [
              olderThan.getTime(),
              batch,
            ])) as [{ affectedRows: number }]
          )[0].affectedRows,
        )
      : await knex('check_result')
          .whereIn(
            'check_result_id',
            knex('check_result')
              .select('check_result_id')
              .where('checked_at', '<', olderThan.getTime())
              .limit(batch),
          )
          .del();
    total += deleted;
    if (deleted < batch) return total;
  }
}

async function readState(trx: Knex.Transaction, id: number): Promise<StatusState> {
  const row = (await trx<EmailAccountRow>(ACCOUNT)
    .where('email_account_id', id)
    .forUpdate()
    .first()) as EmailAccountRow;
  return {
    status: row.account_status as AccountStatus,
    errorCount: row.error_count,
    errorReason: row.error_reason,
  };
}
