// SuperOffice's SmtpUri: `smtps://user:password@host:465` (implicit TLS) or `smtp://...` (STARTTLS),
// user name and password URL-encoded. Error messages never repeat the URI: it holds a password.
import type { Security } from '../../probes/types.js';
import { checkHost } from '../../accounts/fields.js';

export interface SmtpUri {
  security: Security;
  host: string;
  port: number;
  /** Decoded; empty when the URI has no user part (no AUTH). */
  username: string;
  /** Decoded; empty when absent. */
  password: string;
}

export type SmtpUriResult = { ok: true; uri: SmtpUri } | { ok: false; message: string };

/** Ports used when the URI names none: nodemailer's defaults for the two schemes. */
const SCHEMES: Readonly<Record<string, { security: Security; defaultPort: number }>> = {
  'smtps:': { security: 'tls', defaultPort: 465 },
  'smtp:': { security: 'starttls', defaultPort: 587 },
};

function fail(message: string): SmtpUriResult {
  return { ok: false, message };
}

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export function parseSmtpUri(raw: string): SmtpUriResult {
  // The WHATWG parser silently deletes tabs and line breaks; refuse them before it can.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(raw)) return fail('must not contain spaces, line breaks or control characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('must be a URI like smtps://user:password@host:465 or smtp://user:password@host:587');
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) return fail('scheme must be smtps:// (implicit TLS) or smtp:// (STARTTLS)');
  if (url.pathname !== '' && url.pathname !== '/') return fail('must not have a path after host:port');
  const checked = checkHost(url.hostname);
  if (!checked.ok) return fail(`host ${checked.message}`);
  const { host } = checked;
  const port = url.port === '' ? scheme.defaultPort : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail('port must be from 1 to 65535');
  const username = decode(url.username);
  const password = decode(url.password);
  if (username === null || password === null) return fail('user name or password is not valid URL encoding');
  if (/[\0\r\n]/.test(username) || /[\0\r\n]/.test(password)) {
    return fail('user name or password must not contain NUL or line breaks');
  }
  return { ok: true, uri: { security: scheme.security, host, port, username, password } };
}
