// OAuth2 token requests over node:https: the refresh_token grant (RFC 6749 section 6) here, the
// app-only grants in oauth2-app.ts, all through requestToken. Every failure is a ProbeError (phase
// 'auth') whose code says what the answer means (token-errors.ts) and whose message names what went
// wrong without any token, client secret or assertion in it.
// When the egress policy checked the endpoint's host, the request connects to exactly the address it
// checked: the name is not looked up a second time (DNS rebinding), while TLS still verifies the
// certificate for the URL's host name.
import type { LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { ProbeError, toError, type FailureCode } from './errors.js';
import { tokenRefusalCode } from './token-errors.js';
import { createSecretScrubber } from '../security/redact.js';
import { scrubError } from './redact.js';
import { unbracket } from './resolve.js';
import { certFailureCode } from './tls.js';
import { oversizedToken, readBoundedBody, TokenAnswerTooLarge } from './token-endpoint.js';

export interface OAuth2RefreshRequest {
  /** The provider's token endpoint, e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token. */
  tokenUrl: string;
  clientId: string;
  /** Omitted for public clients. Sent in the body (client_secret_post). */
  clientSecret?: string;
  refreshToken: string;
  /** Space-separated scopes, e.g. "https://outlook.office.com/IMAP.AccessAsUser.All offline_access". */
  scope?: string;
}

export interface OAuth2Token {
  accessToken: string;
  /** From expires_in; absent when the endpoint did not say. */
  expiresAt?: Date;
  /** A rotated refresh token: store it (encrypted) in place of the old one. Absent when not rotated. */
  refreshToken?: string;
}

export interface OAuth2Deps {
  /** Wall clock for expiresAt. Default: () => new Date(). */
  now?: () => Date;
  /**
   * The egress policy's check of the token endpoint: its address rules and egress.tokenEndpointPorts
   * (443 by default). A refusal fails the refresh before any request is sent; otherwise the
   * request connects to the address it returns and nowhere else. Without it the system resolver
   * looks the name up (once).
   */
  checkHost?: (host: string, port: number, signal: AbortSignal) => Promise<string>;
  /** Extra trusted CAs (PEM, tls.extraCaFile) for the token endpoint, besides the system CAs. */
  caPem?: string;
}

const MAX_DETAIL_CHARS = 160;
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function fail(code: FailureCode, message: string, cause?: unknown): ProbeError {
  return new ProbeError(code, 'auth', message, { cause });
}

/** https anywhere; plain http only to loopback (local test endpoints). */
function checkedUrl(tokenUrl: string): URL {
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new ProbeError('config_invalid', 'auth', 'OAuth2 token URL is not a URL');
  }
  const loopback =
    LOOPBACK_NAMES.has(url.hostname) || (isIP(url.hostname) === 4 && url.hostname.startsWith('127.'));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ProbeError('config_invalid', 'auth', 'OAuth2 token URL must use https');
  }
  return url;
}

/** Exchange `req.refreshToken` for a fresh access token. Rejects with a ProbeError only. */
export async function refreshAccessToken(
  req: OAuth2RefreshRequest,
  signal: AbortSignal,
  deps: OAuth2Deps = {},
): Promise<OAuth2Token> {
  const body = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: req.refreshToken,
    client_id: req.clientId,
  });
  if (req.clientSecret) body.set('client_secret', req.clientSecret);
  if (req.scope) body.set('scope', req.scope);
  const { token, json } = await requestToken(
    req.tokenUrl,
    body,
    [req.refreshToken, req.clientSecret ?? ''],
    signal,
    deps,
  );
  return {
    ...token,
    ...(typeof json.refresh_token === 'string' &&
    json.refresh_token &&
    json.refresh_token !== req.refreshToken
      ? { refreshToken: json.refresh_token }
      : {}),
  };
}

/**
 * POSTs the grant `body` to the token endpoint and reads its answer: the access token and its
 * expiry, and the answer's JSON for grant-specific fields. `secrets` (what the body carries) are
 * scrubbed from every message. Rejects with a ProbeError only: its code says what the answer
 * means for a person (token-errors.ts); unreachable covers the network, timeouts, 5xx and answers
 * that are not token answers.
 */
export async function requestToken(
  tokenUrl: string,
  body: URLSearchParams,
  secrets: readonly string[],
  signal: AbortSignal,
  deps: OAuth2Deps = {},
): Promise<{ token: OAuth2Token; json: Record<string, unknown> }> {
  const url = checkedUrl(tokenUrl);
  const address = deps.checkHost ? await checkTokenHost(url, signal, deps.checkHost) : undefined;
  const scrub = createSecretScrubber(secrets.filter((secret) => secret !== ''));
  const unreachable = (message: string, cause?: unknown) =>
    fail('oauth_endpoint_unreachable', message, cause);

  let status: number;
  let text: string;
  try {
    ({ status, text } = await postForm(url, address, body.toString(), signal, deps.caPem));
  } catch (thrown) {
    const err = scrubError(toError(thrown), scrub);
    if (signal.aborted) throw unreachable('token endpoint did not answer in time', err);
    if (err instanceof TokenAnswerTooLarge) throw unreachable(err.message, err);
    throw unreachable(`token request failed (${describeRequestError(err, url)})`, err);
  }
  if (status >= 300 && status <= 399) {
    throw unreachable(`token endpoint answered HTTP ${status}, a redirect (not followed)`);
  }
  const json = parseJson(text);
  if (status < 200 || status > 299) {
    const error = typeof json?.error === 'string' ? json.error : undefined;
    const description = typeof json?.error_description === 'string' ? json.error_description : undefined;
    const detail = scrub([error, description].filter(Boolean).join(': ')).slice(0, MAX_DETAIL_CHARS);
    throw fail(
      tokenRefusalCode(status, error, description),
      `token endpoint answered HTTP ${status}${detail ? `: ${detail}` : ''}`,
    );
  }
  if (!json || typeof json.access_token !== 'string' || json.access_token.length === 0) {
    throw unreachable('token endpoint answer has no access_token');
  }
  const oversized = oversizedToken(json);
  if (oversized !== undefined) throw unreachable(oversized);
  const expiresIn = typeof json.expires_in === 'string' ? Number(json.expires_in) : json.expires_in;
  const now = (deps.now ?? (() => new Date()))();
  return {
    json,
    token: {
      accessToken: json.access_token,
      ...(typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
        ? { expiresAt: new Date(now.getTime() + expiresIn * 1000) }
        : {}),
    },
  };
}

/** The egress policy's verdict on the endpoint's host: the one IP address the request may use. */
async function checkTokenHost(
  url: URL,
  signal: AbortSignal,
  checkHost: NonNullable<OAuth2Deps['checkHost']>,
): Promise<string> {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  let address: string;
  try {
    address = await checkHost(unbracket(url.hostname), port, signal);
  } catch (thrown) {
    const error = toError(thrown);
    if (error instanceof ProbeError) {
      throw new ProbeError(error.code, 'auth', `OAuth2 token endpoint: ${error.message}`, { cause: error });
    }
    throw fail(
      'oauth_endpoint_unreachable',
      `token endpoint host cannot be resolved (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      error,
    );
  }
  const bare = unbracket(address);
  if (!isIP(bare))
    throw fail('oauth_endpoint_unreachable', 'egress check of the token endpoint returned no IP address');
  return bare;
}

interface TokenAnswer {
  status: number;
  text: string;
}

/**
 * POSTs the form `body` to `url` and reads the answer (bounded: readBoundedBody).
 * With `address`, the TCP connection goes to that IP: the lookup hook answers with it instead of
 * asking DNS, so the host name is never resolved again, while SNI, the certificate check and the
 * Host header still use the URL's host name. (An IP-literal host is connected to as it is: no
 * lookup happens at all.) Redirects are not followed (Node's client never does). A fresh agent
 * without keep-alive per request, so the socket closes with the answer; when `signal` aborts, the
 * request and its socket are destroyed and the promise rejects with the signal's reason.
 */
function postForm(
  url: URL,
  address: string | undefined,
  body: string,
  signal: AbortSignal,
  caPem: string | undefined,
): Promise<TokenAnswer> {
  return new Promise<TokenAnswer>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const hostname = unbracket(url.hostname);
    const options: RequestOptions = {
      method: 'POST',
      hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: `${url.pathname}${url.search}`,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        'content-length': Buffer.byteLength(body),
      },
      agent: false,
      ...(address ? { lookup: pinnedLookup(hostname, address) } : {}),
      ...(caPem ? { ca: [...rootCertificates, caPem] } : {}),
    };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options);
    let settled = false;
    const settle = (error: unknown, answer?: TokenAnswer): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (answer) {
        resolve(answer);
      } else {
        req.destroy();
        reject(error);
      }
    };
    const onAbort = (): void => settle(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => settle(err));
    req.on('response', (res: IncomingMessage) => {
      readBoundedBody(res).then(
        (text) => settle(undefined, { status: res.statusCode ?? 0, text }),
        (err: unknown) => settle(err),
      );
    });
    req.end(body);
  });
}

/**
 * A dns.lookup stand-in that answers `hostname` with the checked `address` and refuses any other
 * name. net.connect asks with `{ all: true }` when it may try several addresses (autoSelectFamily,
 * Node 20's default) and expects an array then.
 */
function pinnedLookup(hostname: string, address: string): LookupFunction {
  const family = isIP(address);
  return (name, options, callback) => {
    if (name !== hostname) {
      const error: NodeJS.ErrnoException = new Error(`unexpected lookup of ${name}`);
      error.code = 'ENOTFOUND';
      callback(error, '', 0);
    } else if (options.all) {
      const all: LookupAddress[] = [{ address, family }];
      callback(null, all);
    } else {
      callback(null, address, family);
    }
  };
}

/** The reason in "token request failed (...)": a certificate problem in words, else the error code. */
function describeRequestError(err: Error, url: URL): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (certFailureCode(code)) {
    case 'tls_cert_name_mismatch':
      return `certificate is not valid for ${unbracket(url.hostname)}: ${code}`;
    case 'tls_cert_expired':
      return `certificate expired or not yet valid: ${code}`;
    case 'tls_cert_self_signed':
      return `self-signed certificate: ${code}`;
    case 'tls_cert_untrusted':
      return `certificate not trusted: ${code}`;
    default:
      return typeof code === 'string' ? code : err.message;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
