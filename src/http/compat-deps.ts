// The vendor-compatible endpoints' dependencies, implemented over the daemon's core: probes go
// through the AccountChecker (egress policy, per-host limits, deadline), accounts through the
// repository with the native API's password rules.
import { AccountNotFoundError, type AccountInput, type ServiceAuthInput } from '../accounts/repository.js';
import { AccountInputError, toAccountInput, toEMailAccountJson } from '../accounts/superoffice-mapping.js';
import { AccountStatus, type EmailAccount, type ServiceAuth } from '../accounts/types.js';
import { checkKeptPassword, settleOAuthSecrets } from './api/credentials.js';
import { saveAccount, type ApiDeps } from './api/deps.js';
import type { CompatDeps } from './compat/deps.js';
import type { EMailAccountJson, ServiceAuthJson } from '../accounts/superoffice-schema.js';
import { ApiError } from './errors.js';

/**
 * SuperOffice's ServiceAuth has no TLS trust fields (AcceptUnverifiedCert and CaPem are mailmon's
 * extensions): an update that leaves them out keeps the stored side's values rather than
 * silently resetting them.
 */
function keepTrust(
  next: ServiceAuthInput | null,
  stored: ServiceAuth | null,
  sent: ServiceAuthJson | null,
): ServiceAuthInput | null {
  if (next === null || stored === null || sent === null) return next;
  return {
    ...next,
    acceptUnverifiedCert: sent.AcceptUnverifiedCert ?? stored.acceptUnverifiedCert,
    caPem: sent.CaPem === undefined ? stored.caPem : next.caPem,
  };
}

async function toStoredInput(deps: ApiDeps, account: EMailAccountJson): Promise<AccountInput> {
  let input: AccountInput;
  try {
    input = toAccountInput(account);
  } catch (error) {
    if (error instanceof AccountInputError) throw new ApiError(400, error.message);
    throw error;
  }
  if (account.EMailAccountId === 0) return input;
  const existing = await deps.repo.getAccount(account.EMailAccountId);
  if (existing === null) throw new ApiError(404, `EMailAccount ${account.EMailAccountId} does not exist`);
  if (existing.accountStatus === AccountStatus.Deleted) {
    throw new ApiError(
      409,
      `EMailAccount ${account.EMailAccountId} is Deleted; save it with EMailAccountId 0`,
    );
  }
  const incoming = keepTrust(input.incoming, existing.incoming, account.IncomingCredentials);
  const outgoing = keepTrust(input.outgoing, existing.outgoing, account.OutgoingCredentials);
  // The refresh token first, as the native API does: a new password does not make a move safe.
  settleOAuthSecrets('IncomingCredentials.OAuth.RefreshToken', existing.incoming, incoming);
  settleOAuthSecrets('OutgoingCredentials.OAuth.RefreshToken', existing.outgoing, outgoing);
  checkKeptPassword('IncomingCredentials.Password', existing.incoming, incoming);
  checkKeptPassword('OutgoingCredentials.Password', existing.outgoing, outgoing);
  return { ...input, incoming, outgoing };
}

export function createCompatDeps(deps: ApiDeps): CompatDeps {
  return {
    testTargets: (targets) => deps.checker.probeTargets(targets, deps.signal),
    findStoredSmtpPassword: (server, port, username) =>
      deps.repo.findStoredPassword('smtp', server, port, username),
    saveEMailAccount: async (account) => {
      const input = await toStoredInput(deps, account);
      let saved: EmailAccount;
      try {
        saved = await saveAccount(deps, input);
      } catch (error) {
        if (error instanceof AccountNotFoundError) throw new ApiError(404, error.message);
        if (error instanceof AccountInputError) throw new ApiError(400, error.message);
        throw error;
      }
      return toEMailAccountJson(saved);
    },
  };
}
