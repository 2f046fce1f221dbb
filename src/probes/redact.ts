// Keeping credentials out of everything a probe reports: transcripts, reasons, server responses
// and the cause chain. Two layers: a structural mask for protocol lines that carry credentials
// (LOGIN / AUTHENTICATE / AUTH and their continuation lines), and a value scrubber that replaces
// every known form of the secret (clear, base64, SASL encodings) wherever it still shows up.
import { REDACTED } from '../security/redact.js';
import type { Protocol } from './types.js';

/** The fixed mask that stands in for any credential (the project-wide one). */
export const MASK = REDACTED;

/** Fragments shorter than this are not scrubbed inside longer base64 runs (too many false hits). */
const MIN_FRAGMENT_CHARS = 8;

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

/**
 * The characters of base64(secret) that stay the same wherever the secret sits inside a longer
 * base64-encoded string: one run per byte alignment (0, 1 or 2 bytes before it), without the
 * characters that mix in neighbouring bytes.
 */
function base64Fragments(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const fragments: string[] = [];
  for (let lead = 0; lead < 3; lead++) {
    const encoded = Buffer.concat([Buffer.alloc(lead), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    const first = Math.ceil((lead * 8) / 6);
    const last = Math.floor(((lead + bytes.length) * 8) / 6);
    const fragment = encoded.slice(first, last);
    if (fragment.length >= MIN_FRAGMENT_CHARS) fragments.push(fragment);
  }
  return fragments;
}

/** Every spelling of `secret` a protocol exchange or a library error might contain. */
export function secretForms(username: string, secret: string): string[] {
  if (secret.length === 0) return [];
  const forms = new Set<string>([
    secret,
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    b64(secret),
    b64(`\u0000${username}\u0000${secret}`), // SASL PLAIN, no authzid
    b64(`${username}\u0000${username}\u0000${secret}`), // SASL PLAIN with authzid
    b64(`user=${username}\u0001auth=Bearer ${secret}\u0001\u0001`), // XOAUTH2
    ...base64Fragments(secret),
  ]);
  // Longest first, so a form that contains another is replaced whole.
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

export type Scrub = (text: string) => string;

/** A function replacing every form of every given secret with MASK. */
export function createScrubber(forms: readonly string[]): Scrub {
  if (forms.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of forms) out = out.split(form).join(MASK);
    return out;
  };
}

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
