import type { AccountRepository, SideCheck } from '../accounts/repository.js';
import type { AccountStatus } from '../accounts/types.js';
import type { AccountState, Metrics } from '../metrics/metrics.js';

export function toAccountState(status: AccountStatus, errorCount: number, sides: SideCheck[]): AccountState {
  return {
    status,
    errorCount,
    sides: sides.map((s) => ({
      protocol: s.side,
      lastCheckAt: s.checkedAt,
      lastSuccessAt: s.lastSuccessAt,
      ok: s.ok,
      code: s.code,
    })),
  };
}

/** Loads every account's stored state into the metrics, so a restart does not reset them to zero. */
export async function restoreMetrics(repo: AccountRepository, metrics: Metrics): Promise<number> {
  const snapshot = await repo.snapshot();
  for (const account of snapshot) {
    metrics.setAccountState(account.id, toAccountState(account.status, account.errorCount, account.sides));
    for (const side of account.sides) {
      const endpoint = account.endpoints[side.side];
      if (side.tlsNotAfter && endpoint)
        metrics.restoreCertificate(account.id, side.side, endpoint, side.tlsNotAfter);
    }
  }
  metrics.setStatusCounts(await repo.statusCounts());
  metrics.setBackingOff(await repo.backingOffCounts());
  return snapshot.length;
}

/**
 * Brings the metrics in line with changes other processes made (the CLI, another daemon's API):
 * accounts per status counted in the database, and the series of accounts deleted elsewhere, which
 * this process would never check again, removed. Checks of this process need none of this: the
 * CheckObserver moves their counts as they are recorded.
 */
export async function reconcileMetrics(repo: AccountRepository, metrics: Metrics): Promise<void> {
  metrics.setStatusCounts(await repo.statusCounts());
  // Next to the status counts, so it moves with them (to the fleet leader).
  metrics.setBackingOff(await repo.backingOffCounts());
  metrics.retainAccounts(await repo.listActiveAccountIds());
}
