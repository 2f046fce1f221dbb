// The one place where recorded changes of an account reach the metrics and the state-change log:
// a recorded check (per-side series, status, ErrorCount, accounts per status), a deletion and a
// creation. Callers (the scheduler, the CLI, the API, a claim loop) never re-count statuses: the
// checker calls `checked` with the transition the database write returned.
import type { RecordedCheck } from '../accounts/repository.js';
import { transitionOf } from '../accounts/status.js';
import { AccountStatus, type EmailAccount } from '../accounts/types.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ProbeResult, Protocol } from '../probes/types.js';

/** Deletions remembered for checks that began before them (see `checked`); the oldest go first. */
const REMEMBERED_DELETIONS = 1_000;

export type ObservedMetrics = Pick<
  Metrics,
  'recordCheck' | 'retainSides' | 'setAccountStatus' | 'removeAccount' | 'countTransition'
>;

export class CheckObserver {
  /** Deletions seen so far; a check notes the value when it starts (`epoch`). */
  private deletions = 0;
  /** Account id → the deletion count right after it was deleted here. */
  private readonly deletedAt = new Map<number, number>();

  constructor(
    private readonly metrics: ObservedMetrics,
    private readonly logger: Logger,
  ) {}

  /** Note this when a check starts; hand it back to `checked`. */
  epoch(): number {
    return this.deletions;
  }

  /**
   * A check was recorded: per-side series, the status and ErrorCount the write produced, the
   * accounts-per-status counts moved from `before` to `after`, and a log line on a state change.
   */
  checked(
    account: EmailAccount,
    results: readonly ProbeResult[],
    recorded: RecordedCheck,
    at: Date,
    epoch: number,
  ): void {
    const id = account.emailAccountId;
    // The write committed (a later delete sees its status), so the counts always move.
    this.metrics.countTransition(recorded.before.status, recorded.after.status);
    // Deleted here after this check began but before we got here: a delete committed after our write
    // has removed the series already, and re-adding them would export a deleted account until the
    // next reconciliation.
    if ((this.deletedAt.get(id) ?? -1) > epoch) return;
    for (const r of results) {
      const auth = r.protocol === 'imap' ? account.incoming : account.outgoing;
      this.metrics.recordCheck(id, r, at, { host: auth?.server ?? '', port: auth?.port ?? 0 });
    }
    // The sides checked are the sides the account has: a removed side's series go.
    this.metrics.retainSides(
      id,
      results.map((r) => r.protocol),
    );
    this.metrics.setAccountStatus(id, recorded.after.status, recorded.after.errorCount);
    const transition = transitionOf(recorded.before.status, recorded.after.status);
    if (transition !== null) {
      this.logger.info(
        {
          accountId: id,
          transition,
          errorCount: recorded.after.errorCount,
          reason: recorded.after.errorReason || undefined,
        },
        `account ${id} ${transition}`,
      );
    }
  }

  /** An account was marked Deleted; `before` is the status the deletion replaced. */
  deleted(id: number, before: AccountStatus): void {
    this.deletions += 1;
    this.deletedAt.delete(id);
    this.deletedAt.set(id, this.deletions);
    if (this.deletedAt.size > REMEMBERED_DELETIONS) {
      const [oldest] = this.deletedAt.keys();
      if (oldest !== undefined) this.deletedAt.delete(oldest);
    }
    this.metrics.removeAccount(id);
    this.metrics.countTransition(before, AccountStatus.Deleted);
  }

  /**
   * An account was saved: a side it no longer has loses its series at once (its last result and its
   * server's certificate), rather than at its next check; a new account counts as Unknown.
   */
  saved(account: EmailAccount, created: boolean): void {
    const sides: Protocol[] = [];
    if (account.incoming) sides.push('imap');
    if (account.outgoing) sides.push('smtp');
    this.metrics.retainSides(account.emailAccountId, sides);
    if (created) this.metrics.countTransition(null, account.accountStatus);
  }
}
