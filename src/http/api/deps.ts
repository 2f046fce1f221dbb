import type { AccountRepository } from '../../accounts/repository.js';
import type { AccountChecker } from '../../checks/account-checker.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics } from '../../metrics/metrics.js';

/** What the native API routes use; the daemon passes its Core's parts. */
export interface ApiDeps {
  repo: AccountRepository;
  checker: Pick<AccountChecker, 'check' | 'probeTargets'>;
  metrics: Pick<Metrics, 'removeAccount' | 'setStatusCounts'>;
  logger: Logger;
  /** Aborted when the server closes: in-flight on-demand checks stop and record nothing. */
  signal: AbortSignal;
}

/** The accounts-per-status gauge follows every change of an account's status. */
export async function refreshStatusCounts(deps: Pick<ApiDeps, 'repo' | 'metrics'>): Promise<void> {
  deps.metrics.setStatusCounts(await deps.repo.statusCounts());
}
