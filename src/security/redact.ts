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
 * Secrets of at least this many characters are masked wherever they occur, even inside a word;
 * shorter ones only as whole occurrences. A 1-letter password masked as a substring turned
 * "egress policy" into "egress ****olicy" and hid nothing: "p" in "policy" does not reveal it.
 */
export const MIN_ANYWHERE_CHARS = 6;

/**
 * Replaces each secret in `text` with "****", in every form it takes on the wire: the literal
 * value, its URL-encoded, form-encoded and JSON-escaped forms, and base64 (AUTH LOGIN, AUTH PLAIN
 * base64("\0user\0pass") whatever the user name, XOAUTH2 base64("user=...\x01auth=Bearer token\x01\x01"),
 * HTTP Basic). A base64 run is masked whole.
 * - A secret of MIN_ANYWHERE_CHARS characters or more is masked wherever it occurs: any substring,
 *   and any base64 run whose decoded bytes contain it or that contains the characters base64 gives
 *   it at some byte alignment (so an encoded secret in a stream cut off right before or after it
 *   is caught too).
 * - A shorter secret is masked only where it stands whole: not preceded or followed by a letter or
 *   digit (so "p" is masked in "password p rejected" and in "user/p", not in "policy"), and a
 *   base64 run only when it decodes to the secret itself, a SASL PLAIN or HTTP Basic credential
 *   ending in it, or an XOAUTH2 string carrying it.
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
 * once: the one scrubbing algorithm, used for every transcript line a probe records and every text
 * the API answers with.
 */
export function createSecretScrubber(secrets: readonly string[]): Scrub {
  const wanted = [...new Set(secrets)].filter((s) => s !== '');
  if (wanted.length === 0) return (text) => text;
  const long = wanted.filter((s) => [...s].length >= MIN_ANYWHERE_CHARS);
  const short = wanted.filter((s) => [...s].length < MIN_ANYWHERE_CHARS);
  const longRun = long.length > 0 ? longRunTest(long) : undefined;
  const shortRun = short.length > 0 ? shortRunTest(short) : undefined;
  const minRunChars = Math.min(longRun?.minChars ?? Infinity, shortRun?.minChars ?? Infinity);
  const maskRun = (run: string): string =>
    run.length >= minRunChars && (longRun?.test(run) || shortRun?.test(run)) ? REDACTED : run;
  // Longest first, so a form that contains another (or another secret's form) is masked whole.
  const forms = [...new Set(long.flatMap(literalForms))].sort((a, b) => b.length - a.length);
  const shortForms = [...new Set(short.flatMap(literalForms))].sort((a, b) => b.length - a.length);
  const whole =
    shortForms.length === 0
      ? undefined
      : new RegExp(
          `(?<![\\p{L}\\p{N}])(?:${shortForms.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`,
          'gu',
        );
  return (text) => {
    // Base64 first: masking a literal inside a base64 run first would break the run apart.
    let out = text.length >= minRunChars ? text.replace(BASE64_RUN, maskRun) : text;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
    if (whole !== undefined) out = out.replace(whole, REDACTED);
    return out;
  };
}

interface RunTest {
  /** Runs shorter than this cannot hold any of the secrets. */
  minChars: number;
  test(run: string): boolean;
}

/** Does a base64 run hold one of these (long) secrets anywhere, at any byte alignment? */
function longRunTest(secrets: readonly string[]): RunTest {
  const needles = secrets.map((s) => Buffer.from(s, 'utf8'));
  const fragments = [...new Set(secrets.flatMap(base64Fragments))];
  const telling = fragments.filter((fragment) => fragment.length >= MIN_FRAGMENT_CHARS);
  // A run of n characters decodes to at most floor(3n/4) bytes: shorter runs cannot hold a needle.
  const minNeedleBytes = Math.min(...needles.map((needle) => needle.length));
  const minChars = Math.min(Math.ceil((minNeedleBytes * 4) / 3), ...telling.map((f) => f.length));
  return {
    minChars,
    test(run) {
      // Node decodes both alphabets, even mixed; compare fragments in the standard one.
      const std = /[-_]/.test(run) ? run.replace(/-/g, '+').replace(/_/g, '/') : run;
      // A run whose decoding holds a secret holds that secret's fragment for the byte alignment it
      // sits at, so a run with no fragment is clean; a long fragment alone is proof enough.
      if (!fragments.some((fragment) => std.includes(fragment))) return false;
      if (telling.some((fragment) => std.includes(fragment))) return true;
      return decodedContains(run, needles);
    },
  };
}

/**
 * Does a base64 run decode to one of these (short) secrets as a whole credential? Strict shapes
 * only, because short runs decode to short byte strings all the time ("by" decodes to "o"): the
 * secret's own canonical base64 (AUTH LOGIN), or a SASL PLAIN, HTTP Basic or XOAUTH2 string.
 */
function shortRunTest(secrets: readonly string[]): RunTest {
  const encoded = new Set(
    secrets.flatMap((s) => {
      const std = Buffer.from(s, 'utf8').toString('base64');
      return [std, std.replace(/=+$/, ''), Buffer.from(s, 'utf8').toString('base64url')];
    }),
  );
  const raw = secrets.map((s) => Buffer.from(s, 'utf8').toString('latin1'));
  const minChars = Math.min(...[...encoded].map((e) => e.length));
  return {
    minChars,
    test(run) {
      if (encoded.has(run)) return true;
      const decoded = Buffer.from(run, 'base64').toString('latin1');
      return raw.some(
        (secret) =>
          // SASL PLAIN: [authzid] \0 authcid \0 password, i.e. two NULs, the second right before it.
          (decoded.endsWith(`\0${secret}`) && decoded.slice(0, -secret.length - 1).includes('\0')) ||
          (decoded.endsWith(`:${secret}`) && decoded.length > secret.length + 1) || // HTTP Basic user:password
          decoded.includes(`auth=Bearer ${secret}\x01`), // XOAUTH2
      );
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
