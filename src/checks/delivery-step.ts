// The checker's hook for the delivery round trip (issue 12): whether a check runs one, with which
// targets, and what happens when its bookkeeping fails.
import type { AccountRepository } from '../accounts/repository.js';
import type { EmailAccount, ServiceAuth } from '../accounts/types.js';
import { DeliveryRoundTrip, type DeliveryConfig, type DeliveryDeps } from '../delivery/round-trip.js';
import type { DeliveryStore } from '../delivery/store.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { toError } from '../probes/errors.js';
import type { Probe, ProbeResult, ProbeTarget, Protocol } from '../probes/types.js';

export interface CheckerDelivery {
  store: DeliveryStore;
  /** Counts a failed bookkeeping write (the checker's own metrics seam has no such counter). */
  metrics: Pick<Metrics, 'incDatabaseErrors'>;
  config: DeliveryConfig;
  imapSession: DeliveryDeps['imapSession'];
}

export interface DeliveryStepDeps {
  repo: AccountRepository;
  probes: Record<Protocol, Probe>;
  logger: Logger;
  config: { timeoutMs: number };
  delivery: CheckerDelivery;
  clock: () => Date;
  targetFor: (protocol: Protocol, auth: ServiceAuth, emailAddress: string) => ProbeTarget;
  /** The checker's way to run a probe (egress, extra CA, per-host limit, watchdog). */
  probeOne: DeliveryDeps['runProbe'];
}

/**
 * The delivery round trip, when the account has both sides and is opted in, sampled, or still
 * awaits an earlier probe message; it may replace the SMTP result. Its bookkeeping failing (the
 * database) costs the round trip, not the check: logged and counted, the results stay as they are.
 */
export async function withDelivery(
  deps: DeliveryStepDeps,
  account: EmailAccount,
  results: ProbeResult[],
  options: { signal: AbortSignal; deliverySample?: boolean },
): Promise<ProbeResult[]> {
  const imap = results.find((r) => r.protocol === 'imap');
  const smtp = results.find((r) => r.protocol === 'smtp');
  if (!imap || !smtp || options.signal.aborted) return results;
  try {
    // An OAuth2 side may have refreshed its token during the check: use the one stored now.
    const oauth = account.incoming?.authType === 'oauth2' || account.outgoing?.authType === 'oauth2';
    const current = oauth
      ? ((await deps.repo.getAccountWithSecrets(account.emailAccountId)) ?? account)
      : account;
    if (!current.incoming || !current.outgoing) return results;
    const trip = new DeliveryRoundTrip(
      {
        store: deps.delivery.store,
        imapSession: deps.delivery.imapSession,
        smtpProbe: deps.probes.smtp,
        runProbe: deps.probeOne,
        clock: deps.clock,
      },
      deps.delivery.config,
    );
    const verdict = await trip.run(
      {
        accountId: account.emailAccountId,
        imap: deps.targetFor('imap', current.incoming, current.emailAddress),
        smtp: deps.targetFor('smtp', current.outgoing, current.emailAddress),
        to: current.delivery?.to ?? current.emailAddress,
        send: current.delivery?.enabled === true || options.deliverySample === true,
        timeoutMs: deps.config.timeoutMs,
      },
      imap,
      smtp,
    );
    return results.map((r) => (r === smtp ? verdict : r));
  } catch (thrown) {
    deps.delivery.metrics.incDatabaseErrors();
    deps.logger.error(
      { err: toError(thrown), accountId: account.emailAccountId },
      `delivery round trip of account ${account.emailAccountId} could not be completed`,
    );
    return results;
  }
}
