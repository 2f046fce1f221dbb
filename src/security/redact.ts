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

/**
 * Replaces every occurrence of each secret in `text` with "****": the literal value, its
 * URL-encoded and JSON-escaped forms, and any base64 run whose decoded bytes contain it. The
 * decoding catches the wrapped forms whatever the user name is: base64(secret),
 * AUTH PLAIN base64("\0user\0pass") and base64("user\0user\0pass"), AUTH LOGIN, and XOAUTH2
 * base64("user=...\x01auth=Bearer token\x01\x01"). A base64 run is masked whole.
 * Not caught: base64 split across lines (MIME wrapping), lowercase percent-encoding.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const wanted = [...new Set(secrets)].filter((s) => s !== '').sort((a, b) => b.length - a.length);
  if (wanted.length === 0) return text;
  const needles = wanted.map((s) => Buffer.from(s, 'utf8'));
  // Base64 first: masking a literal inside a base64 run first would break the run apart.
  let out = text.replace(BASE64_RUN, (run) => (decodedContains(run, needles) ? REDACTED : run));
  for (const secret of wanted) {
    for (const form of literalForms(secret)) out = out.split(form).join(REDACTED);
  }
  return out;
}

function decodedContains(run: string, needles: Buffer[]): boolean {
  // The encoded secret may start at any offset in the run ("xAGJvYg..."): try each alignment.
  for (let offset = 0; offset < 4 && offset < run.length; offset++) {
    const decoded = Buffer.from(run.slice(offset), 'base64');
    if (needles.some((needle) => decoded.includes(needle))) return true;
  }
  return false;
}

function literalForms(secret: string): Set<string> {
  const inUrl = new URL('smtp://host');
  inUrl.password = secret; // WHATWG userinfo encoding, as `new URL(...)` prints it
  return new Set(
    [
      secret,
      encodeURIComponent(secret),
      new URLSearchParams([['', secret]]).toString().slice(1), // form encoding: space as '+'
      inUrl.password,
      JSON.stringify(secret).slice(1, -1), // as it appears inside a JSON log line
    ].filter((form) => form !== ''),
  );
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
