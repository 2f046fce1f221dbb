import { AccountNotFoundError } from '../../accounts/errors.js';
import type { AccountRepository } from '../../accounts/repository.js';
import { saveAccount as saveWithRules } from '../../accounts/save.js';
import type { AccountDraft } from '../../accounts/save-rules.js';
import type { EmailAccount } from '../../accounts/types.js';
import type { AccountChecker } from '../../checks/account-checker.js';
import type { CheckObserver } from '../../checks/check-observer.js';
import type { Logger } from '../../logging/logger.js';

/** What the native API routes use; the daemon passes its Core's parts. */
export interface ApiDeps {
  repo: AccountRepository;
  checker: Pick<AccountChecker, 'check' | 'probeTargets'>;
  /** Where saves and deletions reach the metrics (the checker's observer). */
  observer: Pick<CheckObserver, 'saved' | 'deleted'>;
  logger: Logger;
  /** Aborted when the server closes: in-flight on-demand checks stop and record nothing. */
  signal: AbortSignal;
}

/**
 * Saves one account through the save service (native API and SaveEMailAccount alike), reads it back
 * and brings the metrics up to date. The service's refusals (src/accounts/errors.ts; also
 * AccountNotFoundError when the saved account is gone on reading back) are left to the caller to
 * answer in its own shape.
 */
export async function saveAccount(
  deps: Pick<ApiDeps, 'repo' | 'observer'>,
  draft: AccountDraft,
): Promise<EmailAccount> {
  const id = await saveWithRules(deps.repo, draft);
  const saved = await deps.repo.getAccount(id);
  if (saved === null) throw new AccountNotFoundError(id);
  deps.observer.saved(saved, draft.emailAccountId === 0);
  return saved;
}
