import {
  AccountNotFoundError,
  type AccountInput,
  type AccountRepository,
} from '../../accounts/repository.js';
import type { EmailAccount } from '../../accounts/types.js';
import type { AccountChecker } from '../../checks/account-checker.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Protocol } from '../../probes/types.js';

/** What the native API routes use; the daemon passes its Core's parts. */
export interface ApiDeps {
  repo: AccountRepository;
  checker: Pick<AccountChecker, 'check' | 'probeTargets'>;
  metrics: Pick<Metrics, 'removeAccount' | 'retainSides' | 'setStatusCounts'>;
  logger: Logger;
  /** Aborted when the server closes: in-flight on-demand checks stop and record nothing. */
  signal: AbortSignal;
}

/** The accounts-per-status gauge follows every change of an account's status. */
export async function refreshStatusCounts(deps: Pick<ApiDeps, 'repo' | 'metrics'>): Promise<void> {
  deps.metrics.setStatusCounts(await deps.repo.statusCounts());
}

/**
 * After a save, a side the account no longer has loses its series at once (its last result and its
 * server's certificate), rather than at the account's next check.
 */
function retainSavedSides(deps: Pick<ApiDeps, 'metrics'>, account: EmailAccount): void {
  const sides: Protocol[] = [];
  if (account.incoming) sides.push('imap');
  if (account.outgoing) sides.push('smtp');
  deps.metrics.retainSides(account.emailAccountId, sides);
}

/**
 * Saves one account (native API and SaveEMailAccount alike), reads it back and brings the metrics
 * up to date. The repository's refusals (AccountNotFoundError, also when the saved account is gone
 * on reading back, and AccountInputError) are left to the caller to answer in its own shape.
 */
export async function saveAccount(
  deps: Pick<ApiDeps, 'repo' | 'metrics'>,
  input: AccountInput,
): Promise<EmailAccount> {
  const [id] = (await deps.repo.saveAccounts([input])) as [number];
  const saved = await deps.repo.getAccount(id);
  if (saved === null) throw new AccountNotFoundError(id);
  retainSavedSides(deps, saved);
  await refreshStatusCounts(deps);
  return saved;
}
