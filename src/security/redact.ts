/** What every redacted value is replaced with, in logs, transcripts and API responses. */
export const REDACTED = '****';

/**
 * Field names that carry credentials anywhere in mailmon: config, account rows, nodemailer and
 * imapflow option objects (`auth.pass`, `auth.accessToken`), OAuth responses and HTTP headers.
 */
export const CREDENTIAL_FIELDS = [
  'password',
  'Password',
  'pass',
  'passwd',
  'secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'smtpPassword',
  'imapPassword',
  'emailSMTPPassword',
  'emailIMAPPassword',
  'authorization',
  'Authorization',
  'cookie',
  'SmtpUri',
  'smtpUri',
  'databaseUrl',
  'secretKey',
  'apiKey',
] as const;

/** How many object levels below a log line's top level the pino paths reach. */
const REDACT_DEPTH = 3;

/**
 * pino/fastify redact paths for the same fields, each at the top level and REDACT_DEPTH levels
 * deep ('password', '*.password', '*.*.password', ...; pino's `*` matches exactly one level), for
 * a logger configured elsewhere. createLogger does not use them: with these 99 wildcard paths pino
 * took about 170 µs per line (measured), so it applies redactCredentials instead, which covers
 * every one of these paths and more (8 levels, any case) for about 2 µs more per line than none.
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  ...CREDENTIAL_FIELDS.flatMap((field) =>
    Array.from({ length: REDACT_DEPTH + 1 }, (_, depth) => '*.'.repeat(depth) + field),
  ),
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

const normalizeKey = (key: string): string => key.toLowerCase().replace(/[-_]/g, '');
const CREDENTIAL_KEYS = new Set([...CREDENTIAL_FIELDS, 'set-cookie', 'xoauth2'].map(normalizeKey));

/** True for a field name that holds a credential, ignoring case, '-' and '_' (`SMTP_PASSWORD`). */
export function isCredentialField(key: string): boolean {
  return CREDENTIAL_KEYS.has(normalizeKey(key));
}

/** Levels redactCredentials descends; deeper objects become "****" (pino prints only 5 anyway). */
const MAX_DEPTH = 8;

/**
 * A copy of `value` fit for a log line or an API response: every credential field's value is
 * "****" and every string loses URL credentials. Plain objects and arrays are walked; class
 * instances (Date, Buffer, Error, sockets) are kept as they are. Copy-on-write: the input is never
 * changed, and is returned itself when nothing needed redacting.
 */
export function redactCredentials<T>(value: T): T {
  return redactValue(value, MAX_DEPTH) as T;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return stripUrlCredentials(value);
  if (typeof value !== 'object' || value === null) return value;
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainData(value)) return value;
  if (depth === 0) return REDACTED;
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const [key, item] of Object.entries(value)) {
    const masked = !isArray && item !== undefined && item !== null && isCredentialField(key);
    const result = masked ? REDACTED : redactValue(item, depth - 1);
    if (result === item) continue;
    copy ??= isArray ? [...(value as unknown[])] : { ...value };
    (copy as Record<string, unknown>)[key] = result;
  }
  return copy ?? value;
}

/** Object literals and the like (incl. pino's serialized errors), not instances of other classes. */
function isPlainData(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || (value as { constructor?: unknown }).constructor === Object;
}

// Runs of base64 (standard or URL-safe) characters; a candidate for hiding an encoded secret.
const BASE64_RUN = /[A-Za-z0-9+/_-]{2,}={0,2}/g;

/** Fragments shorter than this are not looked for inside base64 runs (too many false hits). */
const MIN_FRAGMENT_CHARS = 8;

/**
 * Replaces every occurrence of each secret in `text` with "****": the literal value, its
 * URL-encoded, form-encoded and JSON-escaped forms, and any base64 run (standard or URL-safe) whose
 * decoded bytes contain it or that contains the characters base64 gives the secret at some byte
 * alignment. The decoding catches the wrapped forms whatever the user name is: base64(secret),
 * AUTH PLAIN base64("\0user\0pass") and base64("user\0user\0pass"), AUTH LOGIN, and XOAUTH2
 * base64("user=...\x01auth=Bearer token\x01\x01"); the fragments catch an encoded secret in a
 * stream cut off right before or after it. A base64 run is masked whole.
 * Not caught: a secret whose base64 is split across lines (MIME wrapping), lowercase percent-encoding.
 * For many texts and the same secrets, build the scrubber once with createSecretScrubber.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return createSecretScrubber(secrets)(text);
}

/** Replaces secrets in a text with the mask (see createSecretScrubber). */
export type Scrub = (text: string) => string;

/**
 * scrubSecrets for a fixed set of secrets, with the per-secret work (forms, needles, fragments) done
 * once: the one scrubbing algorithm, used for every transcript line a probe records.
 */
export function createSecretScrubber(secrets: readonly string[]): Scrub {
  const wanted = [...new Set(secrets)].filter((s) => s !== '');
  if (wanted.length === 0) return (text) => text;
  const needles = wanted.map((s) => Buffer.from(s, 'utf8'));
  const fragments = [...new Set(wanted.flatMap(base64Fragments))];
  const telling = fragments.filter((fragment) => fragment.length >= MIN_FRAGMENT_CHARS);
  // Longest first, so a form that contains another (or another secret's form) is masked whole.
  const forms = [...new Set(wanted.flatMap(literalForms))].sort((a, b) => b.length - a.length);
  // A run of n characters decodes to at most floor(3n/4) bytes: shorter runs cannot hold a needle.
  const minNeedleBytes = Math.min(...needles.map((needle) => needle.length));
  const minRunChars = Math.min(Math.ceil((minNeedleBytes * 4) / 3), ...telling.map((f) => f.length));
  const maskRun = (run: string): string => {
    if (run.length < minRunChars) return run;
    // Node decodes both alphabets, even mixed; compare fragments in the standard one.
    const std = /[-_]/.test(run) ? run.replace(/-/g, '+').replace(/_/g, '/') : run;
    // A run whose decoding holds a secret holds that secret's fragment for the byte alignment it
    // sits at, so a run with no fragment is clean; a long fragment alone is proof enough.
    if (!fragments.some((fragment) => std.includes(fragment))) return run;
    if (telling.some((fragment) => std.includes(fragment))) return REDACTED;
    return decodedContains(run, needles) ? REDACTED : run;
  };
  return (text) => {
    // Base64 first: masking a literal inside a base64 run first would break the run apart.
    let out = text.length >= minRunChars ? text.replace(BASE64_RUN, maskRun) : text;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  };
}

function decodedContains(run: string, needles: readonly Buffer[]): boolean {
  // The encoded secret may start at any offset in the run ("xAGJvYg..."): try each alignment.
  for (let offset = 0; offset < 4 && offset < run.length; offset++) {
    const decoded = Buffer.from(run.slice(offset), 'base64');
    if (needles.some((needle) => decoded.includes(needle))) return true;
  }
  return false;
}

/**
 * The characters of base64(secret) that stay the same wherever the secret sits inside a longer
 * base64-encoded string: one run per byte alignment (0, 1 or 2 bytes before it), without the
 * characters that mix in neighbouring bytes. Possibly empty for a 1-byte secret.
 */
function base64Fragments(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [0, 1, 2].map((lead) => {
    const encoded = Buffer.concat([Buffer.alloc(lead), bytes]).toString('base64');
    return encoded.slice(Math.ceil((lead * 8) / 6), Math.floor(((lead + bytes.length) * 8) / 6));
  });
}

function literalForms(secret: string): string[] {
  const inUrl = new URL('smtp://host');
  inUrl.password = secret; // WHATWG userinfo encoding, as `new URL(...)` prints it
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams([['', secret]]).toString().slice(1), // form encoding: space as '+'
    inUrl.password,
    JSON.stringify(secret).slice(1, -1), // as it appears inside a JSON log line
  ].filter((form) => form !== '');
}

const URL_REST = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]*)/gi;

/**
 * Removes `user:pass@` from every URL-like substring (`smtp://u:p@host` becomes `smtp://host`),
 * whatever the scheme. Passwords often hold unencoded '@' or '/', so once a URL has userinfo
 * everything up to its last '@' goes; a URL with a port and an '@' later in its path
 * (`http://h:80/x@y`) loses more than needed, which is the safe side.
 */
export function stripUrlCredentials(text: string): string {
  return text.replace(URL_REST, (_match, scheme: string, rest: string) => scheme + withoutUserinfo(rest));
}

function withoutUserinfo(rest: string): string {
  const firstAt = rest.indexOf('@');
  if (firstAt < 0) return rest;
  const beforeAt = rest.slice(0, firstAt);
  const pathStart = beforeAt.search(/[/?#]/);
  const colon = beforeAt.indexOf(':');
  // A '/', '?' or '#' before the '@' with no ':' ahead of it: the '@' is in a path or query.
  if (pathStart >= 0 && (colon < 0 || colon > pathStart)) return rest;
  return rest.slice(rest.lastIndexOf('@') + 1);
}
