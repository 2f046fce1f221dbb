// The console's accounts table in SQL: filter, search, worst-first order and paging happen in the
// database, and only the page's rows are joined to their last results and history.
import type { Knex } from 'knex';
import { STATUS_SEVERITY, type AccountListQuery, type AccountSummary } from '../accounts/overview.js';
import { AccountStatus } from '../accounts/types.js';
import type { FailureCode } from '../probes/errors.js';
import type { Protocol } from '../probes/types.js';
import { toDate } from './account-rows.js';

interface SummaryRow {
  email_account_id: number;
  email_address: string;
  account_status: number;
  error_count: number;
  error_reason: string;
  last_check_at: number | string | null;
  next_due_at: number | string | null;
  last_success_at: number | string | null;
}

/**
 * `%`, `_` and the escape character itself match literally. The escape is `!`, not a backslash:
 * MySQL reads a backslash in a string literal as an escape of its own.
 */
function likePattern(search: string): string {
  const escaped = search.replace(/[!%_]/g, (c) => `!${c}`);
  return search.startsWith('@') ? `%${escaped}` : `%${escaped}%`;
}

function filtered(knex: Knex, query: AccountListQuery): Knex.QueryBuilder {
  const q = knex('email_account as e');
  if (query.id !== undefined) q.where('e.email_account_id', query.id);
  if (query.statuses !== undefined && query.statuses.length > 0)
    q.whereIn('e.account_status', query.statuses);
  else if (query.includeDeleted !== true) q.whereNot('e.account_status', AccountStatus.Deleted);
  const search = query.search?.trim() ?? '';
  // LIKE is case-insensitive for ASCII on SQLite and under MySQL's default collations alike.
  if (search !== '') q.whereRaw("e.email_address LIKE ? ESCAPE '!'", [likePattern(search)]);
  return q;
}

const severityOrder = `CASE e.account_status ${STATUS_SEVERITY.map((s, i) => `WHEN ${s} THEN ${i}`).join(' ')} ELSE ${STATUS_SEVERITY.length} END`;

export async function listAccountSummaries(
  knex: Knex,
  query: AccountListQuery,
): Promise<{ items: AccountSummary[]; total: number }> {
  const [{ total }] = (await filtered(knex, query).count({ total: '*' })) as [{ total: number | string }];
  const rows = (await filtered(knex, query)
    .select(
      'e.email_account_id',
      'e.email_address',
      'e.account_status',
      'e.error_count',
      'e.error_reason',
      'e.last_check_at',
      'e.next_due_at',
      'e.last_success_at',
    )
    // Worst first; among equals the longest-failing (highest count) first, then by address.
    .orderByRaw(`${severityOrder}, e.error_count DESC, e.email_address, e.email_account_id`)
    .limit(query.limit)
    .offset(query.offset)) as SummaryRow[];
  if (rows.length === 0) return { items: [], total: Number(total) };

  const ids = rows.map((r) => r.email_account_id);
  const failing = (await knex('last_check')
    .whereIn('email_account_id', ids)
    .where('ok', false)
    .select('email_account_id', 'side', 'code')
    .orderBy('side')) as { email_account_id: number; side: string; code: string | null }[];
  const since = await failingSince(knex, rows);
  return {
    total: Number(total),
    items: rows.map((r) => ({
      id: r.email_account_id,
      emailAddress: r.email_address,
      status: r.account_status as AccountStatus,
      errorCount: r.error_count,
      errorReason: r.error_reason,
      lastCheckAt: toDate(r.last_check_at),
      nextDueAt: toDate(r.next_due_at),
      lastSuccessAt: toDate(r.last_success_at),
      failingSince: since.get(r.email_account_id) ?? null,
      failingSides: failing
        .filter((f) => f.email_account_id === r.email_account_id)
        .map((f) => ({ side: f.side as Protocol, code: f.code as FailureCode | null })),
    })),
  };
}

/**
 * The first failed check after the last fully successful one, for the page's failing accounts: one
 * indexed range query each (check_result_account_idx), at most a page's worth. History older than
 * history.retentionDays is pruned, so a longer failure shows the oldest failure still kept.
 */
async function failingSince(knex: Knex, rows: readonly SummaryRow[]): Promise<Map<number, Date>> {
  const failing = rows.filter(
    (r) => r.account_status === AccountStatus.Failing || r.account_status === AccountStatus.Failed,
  );
  const result = new Map<number, Date>();
  await Promise.all(
    failing.map(async (r) => {
      const row = (await knex('check_result')
        .where('email_account_id', r.email_account_id)
        .where('ok', false)
        .where('checked_at', '>', Number(r.last_success_at ?? -1))
        .min({ since: 'checked_at' })
        .first()) as { since: number | string | null } | undefined;
      const since = toDate(row?.since ?? null);
      if (since !== null) result.set(r.email_account_id, since);
    }),
  );
  return result;
}
