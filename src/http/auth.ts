// API authentication: bearer tokens from config, stored as SHA-256 digests and compared in constant
// time. Accepted as `Authorization: Bearer <token>`, as the password of Basic auth (what SuperOffice
// and the dealer API clients send), and for the SOAP endpoints as the envelope's Credentials/Ticket.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { parseXml, type XmlElement } from './compat/soap/xml.js';
import { ApiError } from './errors.js';

/** Lower-case hex SHA-256 of a token: what http.tokenHashes holds. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Checks a presented token against every configured digest, without an early exit. */
export function createTokenVerifier(tokenHashes: readonly string[]): (token: string) => boolean {
  const digests = tokenHashes.map((hex) => Buffer.from(hex, 'hex'));
  return (token) => {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let match = false;
    // Same-length digests, so timingSafeEqual applies; every digest is compared whatever matched.
    for (const digest of digests) match = timingSafeEqual(presented, digest) || match;
    return match;
  };
}

/**
 * The token in an Authorization header: `Bearer <token>`, or Basic with the token as the password
 * (any user name). Null when the header is absent or in another scheme.
 */
export function tokenFromHeader(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^\s*(bearer|basic)\s+(\S+)\s*$/i.exec(header);
  if (match === null) return null;
  const [, scheme, value] = match as unknown as [string, string, string];
  if (scheme.toLowerCase() === 'bearer') return value;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

function firstChild(element: XmlElement | undefined, local: string): XmlElement | undefined {
  return element?.children.find((child) => child.local === local);
}

/**
 * The Credentials/Ticket of a SOAP envelope (in Header, or directly in Envelope as SuperOffice's
 * examples put it), or null. Never throws: a malformed envelope simply carries no ticket.
 */
export function soapTicket(body: unknown): string | null {
  if (typeof body !== 'string') return null;
  let root: XmlElement;
  try {
    root = parseXml(body);
  } catch {
    return null;
  }
  const blocks = [...(firstChild(root, 'Header')?.children ?? []), ...root.children];
  const ticket = firstChild(
    blocks.find((block) => block.local === 'Credentials'),
    'Ticket',
  )?.text.trim();
  return ticket === undefined || ticket === '' ? null : ticket;
}

/** True for loopback IP literals in any family, IPv4-mapped loopback, and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (!ipaddr.isValid(bare)) return false;
  const parsed = ipaddr.process(bare); // unwraps ::ffff:a.b.c.d
  return parsed.range() === 'loopback';
}

export class UnsafeListenError extends Error {
  constructor(host: string) {
    super(
      `refusing to listen on http.host ${host}: it is not a loopback address and http.tokenHashes is ` +
        'empty, so the API would be open to the network. Add a token digest to http.tokenHashes ' +
        '(`mailmon tokens hash`) or set http.host to 127.0.0.1.',
    );
    this.name = 'UnsafeListenError';
  }
}

/** Throws UnsafeListenError when the API would be reachable from the network without a token. */
export function assertSafeListen(http: { host: string; tokenHashes: readonly string[] }): void {
  if (http.tokenHashes.length === 0 && !isLoopbackHost(http.host)) throw new UnsafeListenError(http.host);
}

export interface AuthOptions {
  tokenHashes: readonly string[];
  /** Route URLs served without a token (e.g. /healthz, /metrics by config). */
  publicRoutes: readonly string[];
  /** Route URLs whose SOAP envelope may carry the token as Credentials/Ticket. */
  soapRoutes: readonly string[];
  /**
   * Routes under these prefixes check a login of their own (the console's session cookie, made
   * from a token login): the bearer check leaves them alone. Unknown paths still need a token.
   */
  ownAuthPrefixes?: readonly string[];
}

const PENDING_SOAP = Symbol('mailmon.auth.pendingSoap');
type PendingRequest = FastifyRequest & { [PENDING_SOAP]?: boolean };

function unauthorized(reply: FastifyReply): ApiError {
  reply.header('www-authenticate', 'Bearer realm="mailmon", Basic realm="mailmon"');
  return new ApiError(
    401,
    'authentication required: send Authorization: Bearer <token> (or Basic with the token as password)',
  );
}

/**
 * Adds the token check to every route registered after it (and to the 404 handler, so unknown
 * paths cannot be probed without a token). With no token configured it adds nothing: start-up
 * refuses that on non-loopback addresses (assertSafeListen). Must be called on the root instance.
 */
export function installAuth(app: FastifyInstance, options: AuthOptions): void {
  if (options.tokenHashes.length === 0) return;
  const verify = createTokenVerifier(options.tokenHashes);
  const publicRoutes = new Set(options.publicRoutes);
  const soapRoutes = new Set(options.soapRoutes);
  const ownAuth = (route: string) =>
    (options.ownAuthPrefixes ?? []).some((prefix) => route === prefix || route.startsWith(`${prefix}/`));

  app.addHook('onRequest', async (request: PendingRequest, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && (publicRoutes.has(route) || ownAuth(route))) return;
    const header = request.headers.authorization;
    const token = tokenFromHeader(header);
    if (token !== null && verify(token)) return;
    // A SOAP client authenticates inside the envelope, which is only readable once parsed. A blank
    // header (some SOAP stacks send one) is no header.
    if ((header ?? '').trim() === '' && route !== undefined && soapRoutes.has(route)) {
      request[PENDING_SOAP] = true;
      return;
    }
    throw unauthorized(reply);
  });

  app.addHook('preValidation', async (request: PendingRequest, reply) => {
    if (request[PENDING_SOAP] !== true) return;
    const ticket = soapTicket(request.body);
    if (ticket === null || !verify(ticket)) throw unauthorized(reply);
  });
}
