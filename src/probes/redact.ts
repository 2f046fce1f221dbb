// Keeping credentials out of everything a probe reports: transcripts, reasons, server responses
// and the cause chain. Two layers: a structural mask for protocol lines that carry credentials
// (LOGIN / AUTHENTICATE / AUTH and their continuation lines), and the project's one value scrubber
// (security/redact.ts) that replaces every spelling of the secret (clear, URL/JSON-encoded, inside
// any base64 run such as SASL PLAIN or XOAUTH2) wherever it still shows up.
import { REDACTED as MASK, type Scrub } from '../security/redact.js';
import type { Protocol } from './types.js';

/**
 * Masks the credential-carrying parts of a protocol transcript. Stateful: after a client starts a
 * SASL exchange, its continuation lines are masked until the server's final answer.
 */
export interface LineRedactor {
  client(line: string): string;
  server(line: string): string;
}

export function createLineRedactor(protocol: Protocol): LineRedactor {
  return protocol === 'imap' ? imapRedactor() : smtpRedactor();
}

function imapRedactor(): LineRedactor {
  // Tag of the AUTHENTICATE command whose continuation lines are being masked.
  let saslTag: string | undefined;
  return {
    client(line) {
      if (saslTag !== undefined) return MASK;
      const login = /^(\S+\s+LOGIN)(?:\s|$)/i.exec(line);
      if (login) return `${login[1]} ${MASK}`;
      const auth = /^(\S+)(\s+AUTHENTICATE\s+\S+)(\s+\S.*)?$/i.exec(line);
      if (auth) {
        saslTag = auth[1];
        return auth[3] === undefined ? line : `${auth[1]}${auth[2]} ${MASK}`;
      }
      return line;
    },
    server(line) {
      if (saslTag !== undefined && line.startsWith(`${saslTag} `)) saslTag = undefined;
      return line;
    },
  };
}

function smtpRedactor(): LineRedactor {
  let inSasl = false;
  return {
    client(line) {
      if (inSasl) return MASK;
      const auth = /^(AUTH\s+\S+)(\s+\S.*)?$/i.exec(line);
      if (auth) {
        inSasl = true;
        return auth[2] === undefined ? line : `${auth[1]} ${MASK}`;
      }
      return line;
    },
    server(line) {
      // A 334 asks for another SASL line; any other complete reply ends the exchange.
      if (inSasl && /^\d{3} /.test(line) && !line.startsWith('334')) inSasl = false;
      return line;
    },
  };
}

/** Keys of an error object whose string values may carry server text or credentials. */
const MAX_SCRUB_DEPTH = 4;

/**
 * Scrubs an error in place (message, stack and every own string property), following `cause` and
 * imapflow's `_err`, so a cause handed to a logger carries no secret. Returns the same error.
 */
export function scrubError<T>(err: T, scrub: Scrub, depth = 0): T {
  if (depth > MAX_SCRUB_DEPTH || err === null || typeof err !== 'object') return err;
  const record = err as unknown as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(record)) {
    let value: unknown;
    try {
      value = record[key];
    } catch {
      continue; // a throwing getter: nothing we can read, nothing we can leak
    }
    if (typeof value === 'string') {
      const clean = scrub(value);
      if (clean !== value) trySet(record, key, clean);
    } else if (value instanceof Error || (key === 'cause' && typeof value === 'object')) {
      scrubError(value, scrub, depth + 1);
    } else if (key === 'options' || key === 'auth' || key === 'credentials') {
      // Some libraries attach their connection options; they may hold the secret.
      trySet(record, key, MASK);
    }
  }
  return err;
}

function trySet(record: Record<string, unknown>, key: string, value: unknown): void {
  try {
    record[key] = value;
  } catch {
    // read-only property: leave it
  }
}
