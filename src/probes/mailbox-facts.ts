// What the mailbox-health extensions of a check report (issue 12): the quota root read by the IMAP
// probe, and the delivery round trip run after the account's probes. Plain data: stored with the
// side's details, shown by the API and the CLI, exported as metrics.

/** RFC 9208 resources of the mailbox's quota root; a resource the server did not report is null. */
export interface QuotaFacts {
  /** The quota root's name (e.g. "User quota"). */
  root: string;
  storageUsedBytes: number | null;
  storageLimitBytes: number | null;
  messages: number | null;
  messageLimit: number | null;
  /** The highest usage/limit of the reported resources (0.93 = 93 %); may exceed 1. */
  usageRatio: number;
}

/**
 * - delivered: the probe message arrived in the INBOX;
 * - junk: it arrived in the Junk (or Spam) special-use folder — a warning;
 * - pending: not seen yet; looked for again at the next check;
 * - lost: not seen within the configured limit — a failure.
 */
export type DeliveryOutcome = 'delivered' | 'junk' | 'pending' | 'lost';

export const DELIVERY_OUTCOMES: readonly DeliveryOutcome[] = ['delivered', 'junk', 'pending', 'lost'];

export interface DeliveryFacts {
  outcome: DeliveryOutcome;
  /** When the probe message this outcome is about was sent (ISO-8601). */
  sentAt: string;
  /** Send to arrival, ms, for delivered and junk; null otherwise. */
  latencyMs: number | null;
  /** The folder it was found in (delivered, junk). */
  folder: string | null;
  /**
   * Every probe message found (and deleted) in this check: this check's own, and late arrivals of
   * earlier checks, each measured. Messages with our tag but no record (a crash between sending and
   * recording, a probe declared lost that turned up) are deleted too, with a null latency.
   */
  arrivals: DeliveryArrival[];
  /** Probe messages still awaited after this check (this one included when pending). */
  pending: number;
}

export interface DeliveryArrival {
  /** Send to arrival (the server's INTERNALDATE, or when this check first saw it), ms; null when unknown. */
  latencyMs: number | null;
  junk: boolean;
  /** Sent by an earlier check. */
  late: boolean;
}
