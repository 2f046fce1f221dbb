import type { ProbeResult, ProbeTarget } from '../../probes/types.js';
import type { EMailAccountJson } from '../../accounts/superoffice-schema.js';

/** What the compatible endpoints need from the daemon; injected so routes hold no state of their own. */
export interface CompatDeps {
  /**
   * Runs probes for the given targets (IMAP and/or SMTP) within the daemon's limits, one result per
   * target in the same order; never throws for probe failures. An empty `username` means "connect,
   * greet and secure the connection, but do not authenticate" (SMTP only: Oracle's and the dealer
   * API's auth-less tests).
   */
  testTargets(targets: ProbeTarget[]): Promise<ProbeResult[]>;
  /** Finds the stored outgoing password for (server, port, username), for UseStoredPassword; null if none. */
  findStoredSmtpPassword(server: string, port: number, username: string): Promise<string | null>;
  /**
   * Creates (EMailAccountId 0) or updates an account; returns the saved account with passwords
   * masked. To refuse a request, throw an Error with a numeric `statusCode` 400-499 and a message
   * safe to show (e.g. 404 for an unknown id); anything else is answered as a 500 without detail.
   */
  saveEMailAccount(account: EMailAccountJson): Promise<EMailAccountJson>;
}

/** Options of every compat route plugin. */
export interface CompatPluginOptions {
  deps: CompatDeps;
}
