// Console sessions: a token login once, then a random session id in an HttpOnly, SameSite=Strict
// cookie. Sessions live in this process's memory only, so a restart ends all of them (which is how
// removing a token from http.tokenHashes revokes its sessions), and each session is bound to the
// digest of the token it logged in with. Each session has its own CSRF token (synchronizer token
// pattern) that every state-changing console request must carry.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'mailmon_console';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** Oldest sessions are dropped beyond this many (a bound on memory, not a limit anyone should meet). */
const MAX_SESSIONS = 10_000;

export interface Session {
  id: string;
  csrf: string;
  expiresAt: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  create(): Session {
    const session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.clock() + this.ttlMs,
    };
    this.sessions.set(session.id, session);
    // Map iteration is insertion order: the first key is the oldest session.
    while (this.sessions.size > MAX_SESSIONS)
      this.sessions.delete(this.sessions.keys().next().value as string);
    return session;
  }

  /** The live session with this id, or null (an expired one is forgotten). */
  get(id: string | null): Session | null {
    if (id === null) return null;
    const session = this.sessions.get(id);
    if (session === undefined) return null;
    if (session.expiresAt <= this.clock()) {
      this.sessions.delete(id);
      return null;
    }
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }
}

/** The value of one cookie in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Set-Cookie for the session (value '' and maxAge 0 clears it). Secure when served over HTTPS. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/ui',
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A request a browser sent from another site: Sec-Fetch-Site says so, or its Origin is not this
 * server's. Requests without either header (old browsers, curl) pass here and still need the token.
 */
export function isCrossSite(
  headers: Record<string, string | string[] | undefined>,
  ownOrigin: string,
): boolean {
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return true;
  const origin = headers.origin;
  return typeof origin === 'string' && origin !== ownOrigin;
}
