// Field validators shared by every way an account enters mailmon: the import file, the native API
// and the vendor-compatible endpoints. Messages never echo the input value: an input may be a
// password, and a host name with CR/LF is an injection attempt, not a typo to show.
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { z } from 'zod';

import type { Security } from '../probes/types.js';

/** Longest host name DNS allows (RFC 1035: 253 characters in text form). */
const MAX_HOST_LENGTH = 253;

// Letters and digits of any script (IDN, converted to punycode below), dot, hyphen, underscore and
// colon (IPv6 literals). Everything else — spaces, CR/LF, '/', '@', '%' — is refused.
const HOST_CHARS = /^[\p{L}\p{N}._:-]+$/u;
const BRACKETED_IPV6 = /^\[([0-9A-Fa-f:.]+)\]$/;

/**
 * Normalises a host name or IP literal, or returns null when it is not acceptable.
 * Lower case (DNS ignores case, and stored-password lookups compare exactly); `[::1]` loses its
 * brackets; an internationalised name becomes punycode.
 */
export function normalizeHost(raw: string): string | null {
  const bracketed = BRACKETED_IPV6.exec(raw);
  const host = bracketed?.[1] ?? raw;
  if (host.length === 0 || host.length > MAX_HOST_LENGTH || !HOST_CHARS.test(host)) return null;
  if (host.includes(':')) return /^[0-9A-Fa-f:.]+$/.test(host) ? host.toLowerCase() : null;
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(host)) return host.toLowerCase();
  const ascii = domainToASCII(host);
  return ascii === '' ? null : ascii;
}

export const HOST_MESSAGE =
  'must be a host name or IP address (letters, digits, ".", "-", ":"; no spaces or line breaks)';

/** A host name or IP literal; output is normalised (see normalizeHost). */
export const hostSchema = z
  .string()
  .max(MAX_HOST_LENGTH + 2, { error: `must be at most ${MAX_HOST_LENGTH} characters` })
  .transform((value, ctx) => {
    const host = normalizeHost(value);
    if (host === null) {
      ctx.addIssue({ code: 'custom', message: HOST_MESSAGE });
      return z.NEVER;
    }
    return host;
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
export function secretSchema(max: number) {
  return z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .refine((value) => !/[\0\r\n]/.test(value), { error: 'must not contain NUL or line breaks' });
}

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
  .max(2048, { error: 'must be at most 2048 characters' })
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
