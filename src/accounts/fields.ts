// Field validators shared by every way an account enters mailmon: the import file, the native API
// and the vendor-compatible endpoints. Messages never echo the input value: an input may be a
// password, and a host name with CR/LF is an injection attempt, not a typo to show.
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { z } from 'zod';

import { parseHost } from '../egress/address.js';
import type { Security } from '../probes/types.js';

/** Longest host name DNS allows (RFC 1035: 253 characters in text form). */
const MAX_HOST_LENGTH = 253;

// Length limits that fit the columns (src/db/migrations), so that every accepted value is stored on
// MariaDB in strict mode too: an over-long value is a 400 naming the field, never a database error.
// zod counts UTF-16 code units, never fewer than the characters VARCHAR(n) counts in utf8mb4.

/** E-mail address and user name: VARCHAR(255). */
export const MAX_NAME_LENGTH = 255;
/** OAuth client id: VARCHAR(512). */
export const MAX_CLIENT_ID_LENGTH = 512;
/** OAuth token URL and scope: TEXT, with room to spare (2048 × 4 bytes). */
export const MAX_TOKEN_URL_LENGTH = 2048;
export const MAX_SCOPE_LENGTH = 2048;
/**
 * Passwords, access tokens, refresh tokens, client secrets. They are stored encrypted in TEXT
 * columns (65,535 bytes): `mm1:<key id ≤ 64>:<base64url 12-byte IV>:<base64url ciphertext + 16-byte tag>`.
 * A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4), so 8192 units
 * are at most 24,576 bytes, whose ciphertext is 32,790 base64url characters plus an 85-character
 * prefix: half the column.
 */
export const MAX_SECRET_LENGTH = 8192;
/** A CA certificate (PEM), stored in clear in a TEXT column: at most 65,535 bytes of UTF-8. */
export const MAX_CA_PEM_BYTES = 65_535;

// Letters and digits of any script (IDN, converted to punycode below), dot, hyphen, underscore and
// colon (IPv6 literals). Everything else — spaces, CR/LF, '/', '@', '%' — is refused.
const HOST_CHARS = /^[\p{L}\p{N}._:-]+$/u;
const BRACKETED_IPV6 = /^\[([0-9A-Fa-f:.]+)\]$/;

export const HOST_MESSAGE =
  'must be a host name or IP address (letters, digits, ".", "-", ":"; no spaces or line breaks)';

/** Longest DNS label (RFC 1035). */
const MAX_LABEL_LENGTH = 63;

export type HostCheck = { ok: true; host: string } | { ok: false; message: string };

/**
 * Normalises a host name or IP literal, or says why it is not acceptable (without repeating it).
 * Lower case (DNS ignores case, and stored-password lookups compare exactly); `[::1]` loses its
 * brackets; an internationalised name becomes punycode. A name must be one the probes' resolver
 * accepts too (src/egress/address.ts): no empty label (`a..b`), no label over 63 characters or
 * starting or ending with "-", so a stored host never fails every check with config_invalid.
 */
export function checkHost(raw: string): HostCheck {
  const bracketed = BRACKETED_IPV6.exec(raw);
  const host = bracketed?.[1] ?? raw;
  if (host.length === 0 || host.length > MAX_HOST_LENGTH || !HOST_CHARS.test(host)) {
    return { ok: false, message: isOverlongIdn(raw) ? OVERLONG_IDN_MESSAGE : HOST_MESSAGE };
  }
  if (host.includes(':')) {
    return isIP(host) === 6
      ? { ok: true, host: host.toLowerCase() }
      : { ok: false, message: 'must be a valid IPv6 address (it contains ":"; give the port separately)' };
  }
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(host) ? host.toLowerCase() : domainToASCII(host);
  if (ascii === '') return { ok: false, message: 'must be a valid internationalised host name' };
  if (ascii.length > MAX_HOST_LENGTH) return { ok: false, message: OVERLONG_IDN_MESSAGE };
  const labelProblem = labelsProblem(ascii);
  if (labelProblem !== undefined) return { ok: false, message: labelProblem };
  if (parseHost(ascii).kind === 'invalid') return { ok: false, message: HOST_MESSAGE };
  return { ok: true, host: ascii };
}

/** The normalised host, or null when it is not acceptable (see checkHost). */
export function normalizeHost(raw: string): string | null {
  const checked = checkHost(raw);
  return checked.ok ? checked.host : null;
}

/** What is wrong with the dot-separated labels of `name` (one trailing dot allowed), if anything. */
function labelsProblem(name: string): string | undefined {
  const labels = (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
  if (labels.some((label) => label === '')) {
    return 'must not have an empty label (a leading dot or ".." between labels)';
  }
  if (labels.some((label) => label.length > MAX_LABEL_LENGTH)) {
    return `must have labels (the parts between dots) of at most ${MAX_LABEL_LENGTH} characters`;
  }
  if (labels.some((label) => label.startsWith('-') || label.endsWith('-'))) {
    return 'must not have a label (the part between dots) that starts or ends with a hyphen';
  }
  return undefined;
}

/** An internationalised name whose punycode form is longer than DNS (and the server column) allows. */
function isOverlongIdn(raw: string): boolean {
  return HOST_CHARS.test(raw) && !raw.includes(':') && domainToASCII(raw).length > MAX_HOST_LENGTH;
}

const OVERLONG_IDN_MESSAGE = `must be at most ${MAX_HOST_LENGTH} characters once converted to punycode (xn--…)`;

/** A host name or IP literal; output is normalised (see checkHost). */
export const hostSchema = z
  .string()
  .max(MAX_HOST_LENGTH + 2, { error: `must be at most ${MAX_HOST_LENGTH} characters` })
  .transform((value, ctx) => {
    const checked = checkHost(value);
    if (!checked.ok) {
      ctx.addIssue({ code: 'custom', message: checked.message });
      return z.NEVER;
    }
    return checked.host;
  });

export const PORT_MESSAGE = 'must be a TCP port from 1 to 65535';

/** A TCP port given as a JSON number. */
export const portNumberSchema = z
  .number({ error: PORT_MESSAGE })
  .int({ error: PORT_MESSAGE })
  .min(1, { error: PORT_MESSAGE })
  .max(65535, { error: PORT_MESSAGE });

/** A TCP port given as a decimal string ("587"), as the Oracle and dealer APIs send it. */
export const portStringSchema = z
  .string({ error: `${PORT_MESSAGE}, as a string` })
  .regex(/^\s*\d{1,5}\s*$/, { error: `${PORT_MESSAGE}, as a string of digits` })
  .transform(Number)
  .pipe(portNumberSchema);

/** "true"/"false" in any case, as the dealer API sends booleans. */
export const boolStringSchema = z
  .string({ error: 'must be "true" or "false" (a string)' })
  .regex(/^\s*(true|false)\s*$/i, { error: 'must be "true" or "false"' })
  .transform((value) => value.trim().toLowerCase() === 'true');

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;

/** A free-text single-line value (user name, address): no CR, LF or other control characters. */
export function lineSchema(max: number) {
  return z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .refine((value) => !CONTROL_CHARS.test(value), {
      error: 'must not contain line breaks or control characters',
    });
}

/** A secret: any characters but NUL, CR and LF, which no mail protocol can carry in a password. */
export function secretSchema(max: number = MAX_SECRET_LENGTH) {
  return z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .refine((value) => !/[\0\r\n]/.test(value), { error: 'must not contain NUL or line breaks' });
}

/** The largest value of a signed INT column (ids, counts): 2³¹ − 1. */
export const MAX_INT = 2_147_483_647;

/** An id or count given as a JSON number: a whole number from 0 to MAX_INT. */
export const nonNegativeIntSchema = z.number().int().min(0).max(MAX_INT);

/** An account's e-mail address: one line that fits its column, shaped name@domain. */
export const emailAddressSchema = lineSchema(MAX_NAME_LENGTH).refine(
  (value) => /^[^\s@]+@[^\s@]+$/.test(value),
  { error: 'must be an e-mail address (name@domain)' },
);

/** A delivery round trip's recipient (email_account.delivery_to is VARCHAR(254), RFC 5321's path limit). */
export const deliveryToSchema = emailAddressSchema.refine((value) => value.length <= 254, {
  error: 'must be at most 254 characters',
});

/** A CA certificate text (PEM) that fits its column: at most MAX_CA_PEM_BYTES bytes of UTF-8. */
export const caPemTextSchema = z
  .string()
  .max(MAX_CA_PEM_BYTES, { error: `must be at most ${MAX_CA_PEM_BYTES} bytes` })
  .refine((pem) => Buffer.byteLength(pem, 'utf8') <= MAX_CA_PEM_BYTES, {
    error: `must be at most ${MAX_CA_PEM_BYTES} bytes`,
  });

const LOOPBACK_NAMES = new Set(['localhost', '[::1]']);

/** https anywhere; plain http only to a loopback address (a local test endpoint), as the refresh itself insists. */
function isTokenUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  const loopback =
    LOOPBACK_NAMES.has(url.hostname) || (isIP(url.hostname) === 4 && url.hostname.startsWith('127.'));
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback);
}

/**
 * An OAuth2 token endpoint URL. No user name or password in it: the URL is shown in responses, and
 * client credentials have their own write-only field.
 */
export const tokenUrlSchema = z
  .string()
  .max(MAX_TOKEN_URL_LENGTH, { error: `must be at most ${MAX_TOKEN_URL_LENGTH} characters` })
  .refine(isTokenUrl, { error: 'must be an https URL (http only to localhost, 127.x.x.x or [::1])' })
  .refine((value) => !isTokenUrl(value) || new URL(value).username + new URL(value).password === '', {
    error: 'must not contain a user name or password',
  });

/**
 * The security a port implies when a client does not say: the implicit-TLS ports (993 IMAPS, 465
 * submissions) get TLS, everything else (143, 587, 25, and unknown ports) STARTTLS. Never plain
 * text by default: a monitor must not send passwords in clear because a field was left out.
 */
export function defaultSecurityForPort(port: number): Security {
  return port === 993 || port === 465 ? 'tls' : 'starttls';
}

export interface FieldIssue {
  /** Dotted path to the field, e.g. `IncomingCredentials.Port` or `emailCredentialsRequests.0.smtpPort`. */
  path: string;
  message: string;
}

/** Flattens zod issues into `path: message` pairs; a root-level issue has the path `(body)`. */
export function fieldIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): FieldIssue[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== '').join('.');
    return { path: path === '' ? '(body)' : path, message: issue.message };
  });
}

/** `"IncomingCredentials.Port: must be a TCP port from 1 to 65535; EMailAddress: ..."` */
export function describeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Maps keys to their canonical case (SuperOffice's .NET binder ignores case) and drops unknown
 * keys. An exact-case key wins over a differently cased duplicate.
 */
export function canonicalKeys(
  value: Record<string, unknown>,
  keys: readonly string[],
): Record<string, unknown> {
  const byLower = new Map(keys.map((key) => [key.toLowerCase(), key]));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const canonical = byLower.get(key.toLowerCase());
    if (canonical !== undefined && (key === canonical || !(canonical in out))) out[canonical] = field;
  }
  return out;
}
