// Claims: the account row is the job. A replica claims due accounts by pushing their next_due_at to
// the lease expiry and stamping its id and a fresh token (a visibility timeout: an expired lease is
// simply due again, and the next claim's token fences the old holder out). Every time here is the
// database's clock, so a replica whose own clock is off neither claims early nor holds leases long.
// The two dialects claim differently (see claimDue); everything else is shared SQL.
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { isMysql } from './connection.js';

const ACCOUNT = 'email_account';
const DUE_INDEX = 'email_account_next_due_idx';

/** One claimed account. */
export interface Claim {
  accountId: number;
  /** Fences every write of this claim's result. */
  token: string;
  /** The due time the account had when claimed (ms, database clock): anchors its next due time. */
  dueAt: number;
  /** Claims since the last recorded result, this one included. */
  attempts: number;
  /** The account's edit version at the claim: a save or deletion since then fences the result out. */
  editVersion: number;
  /** The database's clock at the claim, ms. */
  claimedAt: number;
}

/** The smallest server versions with SKIP LOCKED. */
const MIN_MARIADB: [number, number] = [10, 6];
const MIN_MYSQL: [number, number, number] = [8, 0, 1];

export class UnsupportedDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedDatabaseError';
  }
}

/**
 * Refuses MySQL < 8.0.1 and MariaDB < 10.6: without SKIP LOCKED replicas would block on each other's
 * claims. `version` is what `SELECT VERSION()` answers, e.g. "10.11.6-MariaDB-0+deb12u1" or "8.0.36".
 */
export function assertSkipLockedVersion(version: string): void {
  const nums = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  const [major = 0, minor = 0, patch = 0] = nums;
  if (/mariadb/i.test(version)) {
    if (major > MIN_MARIADB[0] || (major === MIN_MARIADB[0] && minor >= MIN_MARIADB[1])) return;
    throw new UnsupportedDatabaseError(
      `the database is MariaDB ${major}.${minor}.${patch}; mailmon needs MariaDB 10.6 or newer (for SELECT ... FOR UPDATE SKIP LOCKED), or MySQL 8.0.1 or newer`,
    );
  }
  const [a, b, c] = MIN_MYSQL;
  if (major > a || (major === a && (minor > b || (minor === b && patch >= c)))) return;
  throw new UnsupportedDatabaseError(
    `the database is MySQL ${major}.${minor}.${patch}; mailmon needs MySQL 8.0.1 or newer (for SELECT ... FOR UPDATE SKIP LOCKED), or MariaDB 10.6 or newer`,
  );
}

/** SQL for "now" on the database's clock, epoch ms. */
export function dbNowSql(knex: Knex): string {
  return isMysql(knex)
    ? 'CAST(ROUND(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000) AS SIGNED)'
    : "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";
}

const newToken = (): string => randomBytes(12).toString('hex');

export class SweepStore {
  private readonly now: string;
  private readonly mysql: boolean;

  constructor(private readonly knex: Knex) {
    this.mysql = isMysql(knex);
    this.now = dbNowSql(knex);
  }

  /** On MySQL/MariaDB, refuses a server without SKIP LOCKED (see assertSkipLockedVersion). */
  async assertSupported(): Promise<void> {
    if (!this.mysql) return;
    const [rows] = (await this.knex.raw('SELECT VERSION() AS v')) as [{ v: string }[]];
    assertSkipLockedVersion(String(rows[0]?.v ?? ''));
  }

  /** The database's clock, ms. */
  async dbNow(): Promise<number> {
    const rows = await this.raw<{ now: number | string }>(`SELECT ${this.now} AS now`);
    return Number(rows[0]?.now);
  }

  /**
   * Claims up to `limit` due accounts, oldest due first, for `leaseMs`. MySQL/MariaDB: in a READ
   * COMMITTED transaction (no gap locks: a new account inserted meanwhile does not wait), one range
   * of the next_due_at index read with FOR UPDATE SKIP LOCKED, so replicas claiming at once take
   * disjoint rows and lock only those; then the claimed rows are stamped. SQLite: one UPDATE ... WHERE
   * id IN (SELECT ... LIMIT n) RETURNING, atomic under the database's write lock.
   */
  async claimDue(owner: string, limit: number, leaseMs: number): Promise<Claim[]> {
    if (limit <= 0) return [];
    const token = newToken();
    if (!this.mysql) {
      const due = this.knex(ACCOUNT)
        .select('email_account_id')
        .whereRaw(`next_due_at <= ${this.now}`)
        .orderBy([{ column: 'next_due_at' }, { column: 'email_account_id' }])
        .limit(limit);
      return this.stampSqlite(this.knex(ACCOUNT).whereIn('email_account_id', due), owner, token, leaseMs);
    }
    return this.knex.transaction(
      async (trx) => {
        const rows = await this.rawIn<{ id: number }>(
          trx,
          `SELECT email_account_id AS id FROM ${ACCOUNT} FORCE INDEX (${DUE_INDEX})
            WHERE next_due_at <= ${this.now} ORDER BY next_due_at, email_account_id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        if (rows.length === 0) return [];
        return this.stampMysql(
          trx,
          rows.map((r) => r.id),
          owner,
          token,
          leaseMs,
        );
      },
      { isolationLevel: 'read committed' },
    );
  }

  /**
   * Claims one account for a manual test, unless another replica's claim on it is live (then null).
   * A due or unclaimed account is taken whatever its due time: the operator asked for a check now.
   * Call it only when this process runs no check of the account.
   */
  async claimOne(accountId: number, owner: string, leaseMs: number): Promise<Claim | null> {
    const token = newToken();
    const free = (q: Knex.QueryBuilder) =>
      q
        .where('email_account_id', accountId)
        .whereNotNull('next_due_at')
        // Our own live lease with no check of ours running (the caller's in-flight map says so) was
        // left by a check that failed to write: take it over.
        .where((w) =>
          w.whereNull('lease_token').orWhereRaw(`next_due_at <= ${this.now}`).orWhere('lease_owner', owner),
        );
    if (!this.mysql) {
      const [claim] = await this.stampSqlite(free(this.knex(ACCOUNT)), owner, token, leaseMs);
      return claim ?? null;
    }
    return this.knex.transaction(
      async (trx) => {
        const rows = (await free(trx(ACCOUNT).select({ id: 'email_account_id' }))
          .forUpdate()
          .skipLocked()) as { id: number }[];
        if (rows.length === 0) return null;
        const [claim] = await this.stampMysql(trx, [accountId], owner, token, leaseMs);
        return claim ?? null;
      },
      { isolationLevel: 'read committed' },
    );
  }

  /** Extends live claims by `leaseMs` from now; returns the ids whose lease is still ours. */
  async renew(claims: readonly Claim[], leaseMs: number): Promise<number[]> {
    const kept: number[] = [];
    for (const claim of claims) {
      const changed = await this.knex(ACCOUNT)
        .where({ email_account_id: claim.accountId, lease_token: claim.token })
        .update({ next_due_at: this.knex.raw(`${this.now} + ?`, [leaseMs]) });
      if (changed === 1) kept.push(claim.accountId);
    }
    return kept;
  }

  /**
   * Gives claims back unchecked (shutdown): due again at the time they were due, and the claim does
   * not count as an attempt. A claim lost meanwhile is left alone.
   */
  async release(claims: readonly Claim[]): Promise<number> {
    let released = 0;
    for (const claim of claims) {
      released += await this.knex(ACCOUNT)
        .where({ email_account_id: claim.accountId, lease_token: claim.token })
        .update({
          next_due_at: claim.dueAt,
          claimed_due_at: null,
          lease_owner: null,
          lease_token: null,
          claim_attempts: this.knex.raw('CASE WHEN claim_attempts > 0 THEN claim_attempts - 1 ELSE 0 END'),
        });
    }
    return released;
  }

  /** Why a fenced write changed nothing: the claim was lost, or the account was edited or deleted. */
  async fenceFailure(claim: Claim): Promise<'lease_lost' | 'edited'> {
    const row = (await this.knex(ACCOUNT)
      .select('lease_token', 'edit_version')
      .where('email_account_id', claim.accountId)
      .first()) as { lease_token: string | null; edit_version: number } | undefined;
    if (row === undefined || Number(row.edit_version) !== claim.editVersion) return 'edited';
    return 'lease_lost';
  }

  /** Whether a live claim (an unexpired lease) is on the account. */
  async leaseHeld(accountId: number): Promise<boolean> {
    const rows = await this.raw<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM ${ACCOUNT} WHERE email_account_id = ? AND lease_token IS NOT NULL AND next_due_at > ${this.now}`,
      [accountId],
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  /** The oldest due time of any account, ms (null: nothing to check). */
  async oldestDue(): Promise<number | null> {
    const row = (await this.knex(ACCOUNT).min({ due: 'next_due_at' }).first()) as
      { due: number | string | null } | undefined;
    return row?.due == null ? null : Number(row.due);
  }

  private async stampSqlite(
    target: Knex.QueryBuilder,
    owner: string,
    token: string,
    leaseMs: number,
  ): Promise<Claim[]> {
    // SQLite evaluates every SET expression with the row's old values: claimed_due_at gets the due time.
    const rows = (await target
      .update({
        claimed_due_at: this.knex.raw('next_due_at'),
        next_due_at: this.knex.raw(`${this.now} + ?`, [leaseMs]),
        lease_owner: owner,
        lease_token: token,
        claim_attempts: this.knex.raw('claim_attempts + 1'),
      })
      .returning([
        'email_account_id',
        'claimed_due_at',
        'claim_attempts',
        'edit_version',
        'next_due_at',
      ])) as {
      email_account_id: number;
      claimed_due_at: number | string;
      claim_attempts: number;
      edit_version: number;
      next_due_at: number | string;
    }[];
    return rows.map((r) => toClaim(r, token, Number(r.next_due_at) - leaseMs)).sort(byDue);
  }

  private async stampMysql(
    trx: Knex.Transaction,
    ids: number[],
    owner: string,
    token: string,
    leaseMs: number,
  ): Promise<Claim[]> {
    const nowRows = await this.rawIn<{ now: number | string }>(trx, `SELECT ${this.now} AS now`, []);
    const now = Number(nowRows[0]?.now);
    // MySQL assigns SET left to right with the new values: claimed_due_at comes first, from the old due.
    await trx(ACCOUNT)
      .whereIn('email_account_id', ids)
      .update({
        claimed_due_at: trx.raw('next_due_at'),
        next_due_at: now + leaseMs,
        lease_owner: owner,
        lease_token: token,
        claim_attempts: trx.raw('claim_attempts + 1'),
      });
    const rows = (await trx(ACCOUNT)
      .select('email_account_id', 'claimed_due_at', 'claim_attempts', 'edit_version')
      .whereIn('email_account_id', ids)) as {
      email_account_id: number;
      claimed_due_at: number | string;
      claim_attempts: number;
      edit_version: number;
    }[];
    return rows.map((r) => toClaim(r, token, now)).sort(byDue);
  }

  private raw<T>(sql: string, bindings: readonly unknown[] = []): Promise<T[]> {
    return this.rawIn<T>(this.knex, sql, bindings);
  }

  /** knex.raw's result differs per driver: mysql2 answers [rows, fields], better-sqlite3 the rows. */
  private async rawIn<T>(
    db: Knex | Knex.Transaction,
    sql: string,
    bindings: readonly unknown[],
  ): Promise<T[]> {
    const result = (await db.raw(sql, bindings as Knex.RawBinding[])) as unknown;
    return (this.mysql ? (result as [T[]])[0] : result) as T[];
  }
}

interface ClaimedRow {
  email_account_id: number;
  claimed_due_at: number | string;
  claim_attempts: number;
  edit_version: number;
}

function toClaim(r: ClaimedRow, token: string, claimedAt: number): Claim {
  return {
    accountId: r.email_account_id,
    token,
    dueAt: Number(r.claimed_due_at),
    attempts: r.claim_attempts,
    editVersion: r.edit_version,
    claimedAt,
  };
}

/** Claims in the order they fell due (ties by id), as the claim loop starts them. */
function byDue(a: Claim, b: Claim): number {
  return a.dueAt - b.dueAt || a.accountId - b.accountId;
}
