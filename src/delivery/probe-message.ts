// The tag that makes a delivery probe message recognisable: a header with a random token. The
// IMAP side searches for the header and deletes only messages whose token has this exact form.
import { randomUUID } from 'node:crypto';

export const PROBE_HEADER = 'X-Mailmon-Probe';
const PREFIX = 'mailmon-';
const TOKEN = /^mailmon-\d{1,10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A new, unguessable token of one account: "mailmon-ID-UUID" (at most 55 characters). The account
 * id keeps two accounts that share a mailbox (aliases) from deleting each other's probe messages.
 */
export function newProbeToken(accountId: number): string {
  return `${PREFIX}${accountId}-${randomUUID()}`;
}

/** What a header search for one account's probe messages narrows on (SEARCH HEADER is a substring match). */
export function probeSearchText(accountId: number): string {
  return `${PREFIX}${accountId}-`;
}

/** The token in a message's X-Mailmon-Probe header block, or null when it is not ours (or not `accountId`'s). */
export function probeTokenOf(headers: Buffer | string | undefined, accountId?: number): string | null {
  if (headers === undefined) return null;
  const text = typeof headers === 'string' ? headers : headers.toString('latin1');
  const value = /^x-mailmon-probe:[ \t]*(\S+)/im.exec(text)?.[1];
  if (value === undefined || !TOKEN.test(value)) return null;
  return accountId === undefined || value.startsWith(probeSearchText(accountId)) ? value : null;
}
