// Canary secrets and the search for them: every spelling a password or token could take on its way
// into a log line, a response body, a transcript or a database file. Reused by every suite that
// checks an output for leaks: collect outputs in a CanaryCorpus (or call assertNoCanary on one text).
import { randomBytes } from 'node:crypto';

export interface Canary {
  /** The password or token itself. */
  secret: string;
  /** The login it is used with: adds the exact SASL spellings (AUTH PLAIN, XOAUTH2) to the search. */
  username?: string;
  /** Names the canary in failure messages instead of its value, e.g. "imap password of account 3". */
  label?: string;
  /** A distinctive part that must not appear either: catches a truncated or half-masked secret. */
  core?: string;
}

export interface CanaryHit {
  source: string;
  canary: string;
  form: string;
  index: number;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/**
 * A unique canary. `special` adds characters that need escaping in JSON, URLs and IMAP strings
 * (use it where the server is meant to refuse the login: some servers or libraries mangle them).
 */
export function makeCanary(label: string, username?: string, options: { special?: boolean } = {}): Canary {
  const core = `CNRY${randomBytes(8).toString('hex')}`;
  const secret = `${label}-${core}${options.special ? '-p@ss:/wörd "q" \\' : '-p@ss/x'}`;
  return { secret, label, core, ...(username === undefined ? {} : { username }) };
}

/** Every literal spelling of a canary to search for, by name. */
export function canaryForms(canary: Canary): { form: string; text: string }[] {
  const { secret, username } = canary;
  const inUrl = new URL('smtp://host');
  inUrl.password = secret;
  const forms: [string, string][] = [
    ['plain', secret],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['URL-encoded', encodeURIComponent(secret)],
    ['form-encoded', new URLSearchParams([['', secret]]).toString().slice(1)],
    ['URL userinfo', inUrl.password],
    ['base64', b64(secret)],
    ['base64url', b64url(secret)],
    ['hex', Buffer.from(secret, 'utf8').toString('hex')],
  ];
  if (canary.core) forms.push(['distinctive part', canary.core]);
  if (username !== undefined) {
    forms.push(
      ['AUTH PLAIN', b64(`\u0000${username}\u0000${secret}`)],
      ['AUTH PLAIN with authzid', b64(`${username}\u0000${username}\u0000${secret}`)],
      ['XOAUTH2', b64(`user=${username}\u0001auth=Bearer ${secret}\u0001\u0001`)],
      ['OAUTHBEARER', b64(`n,a=${username},\u0001auth=Bearer ${secret}\u0001\u0001`)],
    );
  }
  const seen = new Set<string>();
  return forms
    .filter(([, text]) => text !== '' && !seen.has(text) && seen.add(text))
    .map(([form, text]) => ({ form, text }));
}

// Runs of base64 (standard or URL-safe) characters long enough to hide a secret.
const BASE64_RUN = /[A-Za-z0-9+/_-]{12,}={0,2}/g;

/**
 * Every place a canary shows in `content`: each literal form, and any base64 run that decodes (at
 * any alignment) to bytes containing the secret or its distinctive part, whatever surrounds it
 * (SASL with another user name, a base64 blob of a whole log line). Buffers are searched as bytes.
 */
export function findCanaries(
  content: string | Buffer,
  canaries: readonly (Canary | string)[],
  source = 'text',
): CanaryHit[] {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const hits: CanaryHit[] = [];
  const list = canaries.map((c) => (typeof c === 'string' ? { secret: c } : c));
  list.forEach((canary, i) => {
    const name = canary.label ?? `canary #${i + 1}`;
    for (const { form, text } of canaryForms(canary)) {
      const index = bytes.indexOf(Buffer.from(text, 'utf8'));
      if (index >= 0) hits.push({ source, canary: name, form, index });
    }
  });
  const ascii = bytes.toString('latin1');
  for (const match of ascii.matchAll(BASE64_RUN)) {
    const run = match[0];
    for (let offset = 0; offset < 4; offset++) {
      const decoded = Buffer.from(run.slice(offset), 'base64');
      list.forEach((canary, i) => {
        const needles = [canary.secret, canary.core].filter((n): n is string => Boolean(n));
        if (needles.some((n) => decoded.includes(Buffer.from(n, 'utf8')))) {
          hits.push({
            source,
            canary: canary.label ?? `canary #${i + 1}`,
            form: 'inside base64',
            index: match.index,
          });
        }
      });
    }
  }
  return dedupe(hits);
}

/** Throws, naming the source, the canary (by label) and the form, when any canary shows in `content`. */
export function assertNoCanary(
  content: string | Buffer,
  canaries: readonly (Canary | string)[],
  source = 'text',
): void {
  const hits = findCanaries(content, canaries, source);
  if (hits.length > 0) throw new Error(`secret leaked:\n${hits.map(describeHit).join('\n')}`);
}

/** Outputs collected from a run, searched together; `add` whatever a test captured. */
export class CanaryCorpus {
  private readonly entries: { source: string; content: string | Buffer }[] = [];

  add(source: string, content: string | Buffer): this {
    this.entries.push({ source, content });
    return this;
  }

  get sources(): string[] {
    return this.entries.map((e) => e.source);
  }

  /** Total size searched, in bytes: a guard against a corpus that is silently empty. */
  get bytes(): number {
    return this.entries.reduce((n, e) => n + Buffer.byteLength(e.content), 0);
  }

  find(canaries: readonly (Canary | string)[]): CanaryHit[] {
    return this.entries.flatMap((e) => findCanaries(e.content, canaries, e.source));
  }

  assertClean(canaries: readonly (Canary | string)[]): void {
    const hits = this.find(canaries);
    if (hits.length > 0) throw new Error(`secret leaked:\n${hits.map(describeHit).join('\n')}`);
  }
}

function describeHit(hit: CanaryHit): string {
  return `  ${hit.canary} (${hit.form}) in ${hit.source} at offset ${hit.index}`;
}

function dedupe(hits: CanaryHit[]): CanaryHit[] {
  const seen = new Set<string>();
  return hits.filter((h) => {
    const key = `${h.canary}|${h.form}|${h.index}`;
    return !seen.has(key) && Boolean(seen.add(key));
  });
}
