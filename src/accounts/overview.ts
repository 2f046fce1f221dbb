// What the console's accounts page asks the repository for: one page of accounts, filtered,
// searched and sorted worst first in SQL (the table must stay fast at 10,000 accounts), with what
// each row shows (failing side and code, failing since) and nothing secret.
import type { FailureCode } from '../probes/errors.js';
import type { Protocol } from '../probes/types.js';
import { AccountStatus } from './types.js';

export interface AccountListQuery {
  /** Only these statuses; empty or undefined = every status but Deleted (unless includeDeleted). */
  statuses?: readonly AccountStatus[];
  /** Show Deleted accounts too when no status filter is given. */
  includeDeleted?: boolean;
  /**
   * Part of the address, case-insensitive; a leading "@" matches the domain (the address ends
   * with it). Wildcards (% _) are matched literally.
   */
  search?: string;
  /** Only this account (the account page reuses the row). */
  id?: number;
  limit: number;
  offset: number;
}

export interface AccountSummary {
  id: number;
  emailAddress: string;
  status: AccountStatus;
  errorCount: number;
  errorReason: string;
  lastCheckAt: Date | null;
  nextDueAt: Date | null;
  lastSuccessAt: Date | null;
  /** The first failed check after the last fully successful one; null unless failing now. */
  failingSince: Date | null;
  /** Sides whose last result failed, with their failure code. */
  failingSides: { side: Protocol; code: FailureCode | null }[];
}

/** Worst first: the order the console's table shows statuses in. */
export const STATUS_SEVERITY: readonly AccountStatus[] = [
  AccountStatus.Failed,
  AccountStatus.Failing,
  AccountStatus.Unknown,
  AccountStatus.Ok,
  AccountStatus.Deleted,
];
