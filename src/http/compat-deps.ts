// The vendor-compatible endpoints' dependencies, implemented over the daemon's core: probes go
// through the AccountChecker (egress policy, per-host limits, deadline), accounts through the save
// service (src/accounts/save.ts), whose refusals are worded here in SuperOffice's field names.
import { describeRefusal, toAccountDraft, toEMailAccountJson } from '../accounts/superoffice-mapping.js';
import type { EMailAccountJson } from '../accounts/superoffice-schema.js';
import { AccountDeletedError, AccountNotFoundError } from '../accounts/errors.js';
import { saveAccount, type ApiDeps } from './api/deps.js';
import type { CompatDeps } from './compat/deps.js';
import { CompatInputError } from './compat/errors.js';
import { ApiError } from './errors.js';

/** SaveEMailAccount (REST and SOAP): 400 naming the field, 404 for an unknown id, 409 for a Deleted one. */
export async function saveEMailAccount(
  deps: Pick<ApiDeps, 'repo' | 'observer'>,
  account: EMailAccountJson,
): Promise<EMailAccountJson> {
  try {
    const saved = await saveAccount(deps, toAccountDraft(account));
    // mailmon's extension: the quota its last IMAP check saw, when the server reports one.
    const imap = (await deps.repo.lastChecks(saved.emailAccountId)).find((c) => c.side === 'imap');
    return toEMailAccountJson(saved, imap?.details?.quota);
  } catch (error) {
    const refusal = describeRefusal(error);
    if (refusal === null) throw error;
    if (refusal.field !== null)
      throw new CompatInputError([{ path: refusal.field, message: refusal.message }]);
    const status =
      error instanceof AccountNotFoundError ? 404 : error instanceof AccountDeletedError ? 409 : 400;
    throw new ApiError(status, refusal.message);
  }
}

export function createCompatDeps(deps: ApiDeps): CompatDeps {
  return {
    testTargets: (targets) => deps.checker.probeTargets(targets, deps.signal),
    findStoredSmtpPassword: (server, port, username) =>
      deps.repo.findStoredPassword('smtp', server, port, username),
    saveEMailAccount: (account) => saveEMailAccount(deps, account),
  };
}
