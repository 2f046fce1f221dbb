// OAuth2 refresh_token grant (RFC 6749 section 6) over fetch: turns a stored refresh token into an
// access token for XOAUTH2 / OAUTHBEARER. Every failure is a ProbeError 'oauth_token_refresh_failed'
// (phase 'auth') whose message names what went wrong without any token or client secret in it.
import { isIP } from 'node:net';
import { ProbeError, toError } from './errors.js';
import { createScrubber, scrubError, secretForms } from './redact.js';

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
  /** Default: global fetch. */
  fetch?: typeof fetch;
  /** Wall clock for expiresAt. Default: () => new Date(). */
  now?: () => Date;
  /**
   * The egress policy's address check for the token endpoint (ports are not checked: token
   * endpoints are HTTPS). A refusal fails the refresh before any request is sent.
   */
  checkHost?: (host: string, port: number, signal: AbortSignal) => Promise<string>;
}

/** Token responses are small; anything bigger is not a token response. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_DETAIL_CHARS = 160;
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function fail(message: string, cause?: unknown): ProbeError {
  return new ProbeError('oauth_token_refresh_failed', 'auth', message, { cause });
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
  const url = checkedUrl(req.tokenUrl);
  if (deps.checkHost) await checkTokenHost(url, signal, deps.checkHost);
  const secrets = [req.refreshToken, req.clientSecret ?? ''].flatMap((s) => secretForms(req.clientId, s));
  const scrub = createScrubber(secrets);
  const body = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: req.refreshToken,
    client_id: req.clientId,
  });
  if (req.clientSecret) body.set('client_secret', req.clientSecret);
  if (req.scope) body.set('scope', req.scope);

  let status: number;
  let text: string;
  try {
    const response = await (deps.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal,
      redirect: 'error',
    });
    status = response.status;
    text = await readBounded(response);
  } catch (thrown) {
    const err = scrubError(toError(thrown), scrub);
    if (signal.aborted) throw fail('token endpoint did not answer in time', err);
    const code = (err.cause as { code?: unknown } | undefined)?.code;
    throw fail(`token request failed (${typeof code === 'string' ? code : err.message})`, err);
  }
  const json = parseJson(text);
  if (status < 200 || status > 299) {
    const error = typeof json?.error === 'string' ? json.error : undefined;
    const description = typeof json?.error_description === 'string' ? json.error_description : undefined;
    const detail = scrub([error, description].filter(Boolean).join(': ')).slice(0, MAX_DETAIL_CHARS);
    throw fail(`token endpoint answered HTTP ${status}${detail ? `: ${detail}` : ''}`);
  }
  if (!json || typeof json.access_token !== 'string' || json.access_token.length === 0) {
    throw fail('token endpoint answer has no access_token');
  }
  const expiresIn = typeof json.expires_in === 'string' ? Number(json.expires_in) : json.expires_in;
  const now = (deps.now ?? (() => new Date()))();
  return {
    accessToken: json.access_token,
    ...(typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
      ? { expiresAt: new Date(now.getTime() + expiresIn * 1000) }
      : {}),
    ...(typeof json.refresh_token === 'string' &&
    json.refresh_token &&
    json.refresh_token !== req.refreshToken
      ? { refreshToken: json.refresh_token }
      : {}),
  };
}

async function checkTokenHost(
  url: URL,
  signal: AbortSignal,
  checkHost: NonNullable<OAuth2Deps['checkHost']>,
) {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  try {
    await checkHost(url.hostname.replace(/^\[(.*)\]$/, '$1'), port, signal);
  } catch (thrown) {
    const error = toError(thrown);
    if (error instanceof ProbeError) {
      throw new ProbeError(error.code, 'auth', `OAuth2 token endpoint: ${error.message}`, { cause: error });
    }
    throw fail(
      `token endpoint host cannot be resolved (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      error,
    );
  }
}

async function readBounded(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new Error(`response of ${declared} bytes is too large`);
  }
  const buf = Buffer.from(await response.arrayBuffer());
  if (buf.length > MAX_RESPONSE_BYTES) throw new Error(`response of ${buf.length} bytes is too large`);
  return buf.toString('utf8');
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
