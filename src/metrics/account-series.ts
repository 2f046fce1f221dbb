import { AccountStatus } from '../accounts/types.js';
import { FAILURE_CODES, type FailureCode } from '../probes/errors.js';
import type { Protocol } from '../probes/types.js';

const PROTOCOLS: ReadonlySet<string> = new Set<Protocol>(['imap', 'smtp']);
const CODES: ReadonlySet<string> = new Set(FAILURE_CODES);

/** A code outside the catalogue (e.g. an old value from the database) is treated as not recorded. */
function knownCode(code: FailureCode | null): FailureCode | null {
  return code !== null && CODES.has(code) ? code : null;
}

/**
 * Which accounts get per-account series (`account_id` label):
 * - `'all'`: every account;
 * - `'none'`: no per-account series at all, only aggregates (nothing per account is kept in memory);
 * - `{ max }`: at most `max` accounts, namely the `max` LOWEST account ids. Ids grow with creation, so
 *   the exported set is stable across restarts and scrapes; an account beyond the cap appears only
 *   when a lower one is removed. Aggregates (`mailmon_accounts`, `mailmon_checks_total`, ...) always
 *   cover every account.
 */
export type PerAccountSeries = 'all' | 'none' | { max: number };

/** The last known state of one side (IMAP or SMTP) of an account. */
export interface SideState {
  protocol: Protocol;
  lastCheckAt: Date | null;
  lastSuccessAt: Date | null;
  /** Result of the last check; null when never checked. */
  ok: boolean | null;
  /**
   * Failure code of the last check when it failed. Leave it undefined when unknown (e.g. restored from
   * a database that does not store it): the code last recorded for this side is then kept.
   */
  code?: FailureCode | null;
}

/** What the database knows about one account; `setAccountState` takes exactly this. */
export interface AccountState {
  status: AccountStatus;
  /** The stored consecutive failure count (ErrorCount). */
  errorCount: number;
  sides: SideState[];
}

export interface StoredSide {
  lastCheckAt: Date | null;
  lastSuccessAt: Date | null;
  ok: boolean | null;
  code: FailureCode | null;
}

export interface StoredAccount {
  status: AccountStatus;
  errorCount: number;
  sides: Map<Protocol, StoredSide>;
}

/**
 * In-memory copy of the per-account values, rendered into gauges at scrape time. Keeping the values
 * here (rather than only in the gauges) lets the cap pick the lowest ids at any moment and makes
 * "a removed account's series disappear" a single `delete`.
 */
export class AccountSeriesStore {
  private readonly accounts = new Map<number, StoredAccount>();
  /** Exported ids, recomputed only when the set of accounts changes. */
  private selection: number[] | null = null;
  private readonly max: number;

  constructor(mode: PerAccountSeries) {
    if (mode === 'all') this.max = Infinity;
    else if (mode === 'none') this.max = 0;
    else if (Number.isSafeInteger(mode.max) && mode.max >= 0) this.max = mode.max;
    else throw new RangeError(`perAccountSeries.max must be a non-negative integer, got ${mode.max}`);
  }

  /** Replace what is known about an account. A Deleted account is removed instead. */
  set(accountId: number, state: AccountState): void {
    if (this.max === 0) return;
    if (state.status === AccountStatus.Deleted) {
      this.remove(accountId);
      return;
    }
    const previous = this.accounts.get(accountId);
    const sides = new Map<Protocol, StoredSide>();
    for (const side of state.sides) {
      // Label values must stay in their closed sets: the exposition renders them unescaped.
      if (!PROTOCOLS.has(side.protocol)) continue;
      sides.set(side.protocol, {
        lastCheckAt: side.lastCheckAt,
        lastSuccessAt: side.lastSuccessAt,
        ok: side.ok,
        code: side.ok === false ? resolveCode(side, previous?.sides.get(side.protocol)) : null,
      });
    }
    if (!previous) this.selection = null;
    this.accounts.set(accountId, { status: state.status, errorCount: state.errorCount, sides });
  }

  /** Update an account's status and ErrorCount, keeping its sides. */
  setStatus(accountId: number, status: AccountStatus, errorCount: number): void {
    if (this.max === 0) return;
    const account = this.accounts.get(accountId);
    if (account) {
      account.status = status;
      account.errorCount = errorCount;
      return;
    }
    this.accounts.set(accountId, { status, errorCount, sides: new Map() });
    this.selection = null;
  }

  /** Apply one check result to one side; an account not seen before starts as Unknown. */
  recordSide(accountId: number, protocol: Protocol, at: Date, ok: boolean, code: FailureCode | null): void {
    if (this.max === 0 || !PROTOCOLS.has(protocol)) return;
    let account = this.accounts.get(accountId);
    if (!account) {
      account = { status: AccountStatus.Unknown, errorCount: 0, sides: new Map() };
      this.accounts.set(accountId, account);
      this.selection = null;
    }
    const previous = account.sides.get(protocol);
    account.sides.set(protocol, {
      lastCheckAt: at,
      lastSuccessAt: ok ? at : (previous?.lastSuccessAt ?? null),
      ok,
      code: ok ? null : knownCode(code),
    });
  }

  /** Forget the sides of an account that are not in `keep` (no longer configured). */
  retainSides(accountId: number, keep: ReadonlySet<Protocol>): void {
    const account = this.accounts.get(accountId);
    if (!account) return;
    for (const protocol of [...account.sides.keys()]) {
      if (!keep.has(protocol)) account.sides.delete(protocol);
    }
  }

  remove(accountId: number): void {
    if (this.accounts.delete(accountId)) this.selection = null;
  }

  /** Remove every account not in `keep`; returns the removed ids. */
  retain(keep: ReadonlySet<number>): number[] {
    return this.retainWhere((id) => keep.has(id));
  }

  /** Remove every account for which `keep` says false; returns the removed ids. */
  retainWhere(keep: (id: number) => boolean): number[] {
    const removed = [...this.accounts.keys()].filter((id) => !keep(id));
    for (const id of removed) this.remove(id);
    return removed;
  }

  /** The accounts to export now, lowest ids first when capped. */
  *exported(): Generator<[number, StoredAccount]> {
    if (this.selection === null) this.selection = this.select();
    for (const id of this.selection) {
      const account = this.accounts.get(id);
      if (account) yield [id, account];
    }
  }

  private select(): number[] {
    const ids = [...this.accounts.keys()];
    if (ids.length <= this.max) return ids;
    return ids.sort((a, b) => a - b).slice(0, this.max);
  }
}

/**
 * A failing side restored without a code (the database may not store one) keeps the code last
 * recorded for that side while it keeps failing. Timestamps are not compared: a DATETIME column
 * may round them, and no newer code than the last recorded one exists in this process anyway.
 */
function resolveCode(side: SideState, previous: StoredSide | undefined): FailureCode | null {
  if (side.code !== undefined) return knownCode(side.code);
  return previous?.ok === false ? previous.code : null;
}
