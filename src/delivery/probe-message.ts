// The tag that makes a delivery probe message recognisable: a header with a random token. The
// IMAP side searches for the header and deletes only messages whose token has this exact form.
import { randomUUID } from 'node:crypto';

export const PROBE_HEADER = 'X-Mailmon-Probe';
const PREFIX = 'mailmon-';
const TOKEN = /^mailmon-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A new, unguessable token ("mailmon-" + a UUID; 44 characters). */
export function newProbeToken(): string {
  return `${PREFIX}${randomUUID()}`;
}

/** What a header search narrows on (IMAP SEARCH HEADER is a substring match). */
export const PROBE_SEARCH_TEXT = PREFIX;

/** The token in a message's X-Mailmon-Probe header block, or null when it is not ours. */
export function probeTokenOf(headers: Buffer | string | undefined): string | null {
  if (headers === undefined) return null;
  const text = typeof headers === 'string' ? headers : headers.toString('latin1');
  const value = /^x-mailmon-probe:[ \t]*(\S+)/im.exec(text)?.[1];
  return value !== undefined && TOKEN.test(value) ? value : null;
}
