// Who may use the console, checked on every console request: a live session (from a token login
// when tokens are configured; created on first visit when none are, as the listener is then on
// loopback only), a Host that is this machine when no token protects it (DNS rebinding), and for
// every state-changing request the session's CSRF token and a same-origin browser context.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHost } from '../auth.js';
import { ApiError } from '../errors.js';
import { loginBody } from './pages/login.js';
import { page } from './pages/layout.js';
import {
  CSRF_FIELD,
  CSRF_HEADER,
  SESSION_COOKIE,
  csrfMatches,
  isCrossSite,
  readCookie,
  sessionCookie,
  type Session,
  type SessionStore,
} from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession: Session | null;
  }
}

export interface GuardOptions {
  sessions: SessionStore;
  /** Tokens configured: a login is needed. */
  loginRequired: boolean;
  /** Route URLs served without a session (the login form, the static assets). */
  openRoutes: ReadonlySet<string>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  value: string,
  maxAge: number,
): void {
  reply.header('set-cookie', sessionCookie(value, maxAge, request.protocol === 'https'));
}

/** The onRequest hook: resolves the session or answers 401 (the login page for a browser GET). */
export function sessionGuard(options: GuardOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // Without a token, anything that can reach the loopback listener may use the console; a page
    // of another site that resolves its own name to 127.0.0.1 must not be among them.
    if (!options.loginRequired && !isLoopbackHost(request.hostname)) {
      throw new ApiError(
        421,
        'the console without tokens answers only to a loopback host name (localhost, 127.0.0.1, [::1])',
      );
    }
    request.consoleSession = options.sessions.get(readCookie(request.headers.cookie, SESSION_COOKIE));
    if (!SAFE_METHODS.has(request.method) && isCrossSite(request.headers, ownOrigin(request))) {
      throw new ApiError(403, 'cross-site request refused (CSRF protection)');
    }
    const route = request.routeOptions.url;
    if (request.consoleSession !== null || (route !== undefined && options.openRoutes.has(route))) return;
    if (!options.loginRequired && SAFE_METHODS.has(request.method)) {
      const session = options.sessions.create();
      request.consoleSession = session;
      setSessionCookie(request, reply, session.id, options.sessions.maxAgeSeconds);
      return;
    }
    if (SAFE_METHODS.has(request.method)) {
      const body = page({
        title: 'Log in',
        session: null,
        canLogOut: false,
        body: loginBody(request.url, null),
      });
      return reply.code(401).type('text/html; charset=utf-8').send(body.markup);
    }
    throw new ApiError(401, 'log in first: the console session is missing or has expired');
  };
}

/** The preHandler of state-changing routes (after the body is parsed): the session's CSRF token. */
export async function csrfGuard(request: FastifyRequest): Promise<void> {
  const session = request.consoleSession;
  const body = request.body as Record<string, unknown> | undefined;
  const presented = request.headers[CSRF_HEADER] ?? body?.[CSRF_FIELD];
  if (session === null || !csrfMatches(session, presented)) {
    throw new ApiError(403, 'missing or wrong CSRF token: reload the page and try again');
  }
}
