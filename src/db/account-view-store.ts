// What the leader reads to export the per-account series: every account once, in pages by id, when
// it gains the lease; then only the rows changed since its last look, in pages by `updated` (every
// save, deletion and recorded check moves it; migration 009 indexes it), so a poll costs what
// changed, not what is stored.
import type { Knex } from 'knex';
import type { AccountSnapshot } from '../accounts/repository.js';
import { AccountStatus } from '../accounts/types.js';
import { toSideCheck, type LastCheckRow } from './account-rows.js';

const ACCOUNT = 'email_account';

/** One account as the leader exports it; `updated` places it in the changed-rows scan. */
export interface AccountView extends AccountSnapshot {
  updated: number;
  /** Quota usage seen at the last IMAP check (null: none reported). */
  quotaRatio: number | null;
  /** Send-to-arrival of the last delivery probe message the last check saw arrive, ms. */
  deliveryLatencyMs: number | null;
}

/** Where a changed-rows scan stands: after this `updated`, and after this id within it. */
export interface ChangeCursor {
  updated: number;
  id: number;
}

interface ViewRow {
  email_account_id: number;
  account_status: number;
  error_count: number;
  updated: number | string;
  imap_host: string | null;
  imap_port: number | null;
  smtp_host: string | null;
  smtp_port: number | null;
}

type SideRow = Omit<LastCheckRow, 'details'> & {
  quota_ratio: number | string | null;
  delivery_latency_ms: number | string | null;
};

export class AccountViewStore {
  constructor(private readonly knex: Knex) {}

  /** Up to `limit` non-deleted accounts with ids above `afterId`, by id. */
  async page(afterId: number, limit: number): Promise<AccountView[]> {
    const rows = (await this.accounts()
      .whereNot('e.account_status', AccountStatus.Deleted)
      .where('e.email_account_id', '>', afterId)
      .orderBy('e.email_account_id')
      .limit(limit)) as ViewRow[];
    return this.withSides(rows);
  }

  /**
   * Up to `limit` accounts (deleted ones included: they must leave the export) changed after
   * `cursor`, by (`updated`, id). One range of the `updated` index.
   */
  async changedSince(cursor: ChangeCursor, limit: number): Promise<AccountView[]> {
    const rows = (await this.accounts()
      .where('e.updated', '>=', cursor.updated)
      .where((q) => q.where('e.updated', '>', cursor.updated).orWhere('e.email_account_id', '>', cursor.id))
      .orderBy([{ column: 'e.updated' }, { column: 'e.email_account_id' }])
      .limit(limit)) as ViewRow[];
    return this.withSides(rows);
  }

  private accounts(): Knex.QueryBuilder {
    return this.knex(`${ACCOUNT} as e`)
      .leftJoin('service_auth as i', 'i.service_auth_id', 'e.incoming_auth')
      .leftJoin('service_auth as o', 'o.service_auth_id', 'e.outgoing_auth')
      .select(
        'e.email_account_id',
        'e.account_status',
        'e.error_count',
        'e.updated',
        'i.server as imap_host',
        'i.port as imap_port',
        'o.server as smtp_host',
        'o.port as smtp_port',
      );
  }

  private async withSides(accounts: ViewRow[]): Promise<AccountView[]> {
    if (accounts.length === 0) return [];
    // Two numbers from the stored details, extracted by the database: the transcripts stay there.
    const extract = (path: string) =>
      this.knex.raw(`CASE WHEN json_valid(details) THEN json_extract(details, ?) END`, [path]);
    const rows = (await this.knex('last_check')
      .select(
        'email_account_id',
        'side',
        'checked_at',
        'ok',
        'code',
        'phase',
        'reason',
        'duration_ms',
        'last_success_at',
        'tls_not_after',
        { quota_ratio: extract('$.quota.usageRatio') },
        { delivery_latency_ms: extract('$.delivery.latencyMs') },
      )
      .whereIn(
        'email_account_id',
        accounts.map((a) => a.email_account_id),
      )) as SideRow[];
    const sides = new Map<number, SideRow[]>();
    for (const row of rows) {
      const list = sides.get(row.email_account_id) ?? [];
      list.push(row);
      sides.set(row.email_account_id, list);
    }
    return accounts.map((a) => {
      const endpoints: AccountSnapshot['endpoints'] = {
        ...(a.imap_host === null ? {} : { imap: { host: a.imap_host, port: Number(a.imap_port) } }),
        ...(a.smtp_host === null ? {} : { smtp: { host: a.smtp_host, port: Number(a.smtp_port) } }),
      };
      // Only configured sides: a row left by a removed side is not exported.
      const own = (sides.get(a.email_account_id) ?? []).filter(
        (s) => endpoints[s.side as keyof typeof endpoints] !== undefined,
      );
      const imap = own.find((s) => s.side === 'imap');
      const delivery = own.map((s) => numberOrNull(s.delivery_latency_ms)).find((v) => v !== null);
      return {
        id: a.email_account_id,
        status: a.account_status as AccountStatus,
        errorCount: a.error_count,
        updated: Number(a.updated),
        sides: own.map((s) => toSideCheck({ ...s, details: null })),
        endpoints,
        quotaRatio: numberOrNull(imap?.quota_ratio ?? null),
        deliveryLatencyMs: delivery ?? null,
      };
    });
  }
}

function numberOrNull(value: number | string | null): number | null {
  if (value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
