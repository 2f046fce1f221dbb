// The ops console at /ui/: server-rendered pages (plain HTML forms work without JavaScript), one
// small script that runs the Re-test without a reload, one stylesheet. Its own session login and
// CSRF protection; the root's bearer-token check leaves /ui routes to it (installAuth ownAuthPrefixes).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../app.js';
import { safeErrorMessage, safeErrorStack } from '../../logging/safe-error.js';
import { testStoredAccount } from '../api/tests.js';
import { createTokenVerifier } from '../auth.js';
import { ApiError } from '../errors.js';
import { loadAssets, serveAsset } from './static-assets.js';
import { csrfGuard, sessionGuard, setSessionCookie } from './guard.js';
import type { Html } from './html.js';
import { errorBody, page } from './pages/layout.js';
import { loginBody, safeNext } from './pages/login.js';
import { renderAccount, renderAccounts } from './render.js';
import { CONSOLE_PREFIX } from './paths.js';
import { SessionStore } from './session.js';

// No inline script or style anywhere; nothing loads from another origin; no framing.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export type ConsoleCore = Pick<Core, 'repo' | 'checker' | 'config'>;

export interface ConsoleOptions {
  clock?: () => Date;
}

function sendPage(reply: FastifyReply, status: number, markup: Html): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(markup.markup);
}

function idOf(request: FastifyRequest): number {
  const raw = (request.params as { id?: string }).id ?? '';
  const id = /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id > 2_147_483_647) throw new ApiError(404, 'no such account');
  return id;
}

export function consolePlugin(core: ConsoleCore, options: ConsoleOptions = {}) {
  return async (app: FastifyInstance): Promise<void> => {
    if (!core.config.console.enabled) return;
    const clock = options.clock ?? (() => new Date());
    const tokenHashes = core.config.http.tokenHashes;
    const loginRequired = tokenHashes.length > 0;
    const verify = createTokenVerifier(tokenHashes);
    const sessions = new SessionStore(core.config.console.sessionHours * 3_600_000, () => clock().getTime());
    const assets = await loadAssets();
    const closing = new AbortController();
    app.addHook('preClose', async () => closing.abort(new Error('server closing')));
    const deps = { ...core, signal: closing.signal };

    await app.register(
      async (ui) => {
        ui.decorateRequest('consoleSession', null);
        // Pages for people, not API operations: kept out of the OpenAPI document.
        ui.addHook('onRoute', (route) => {
          route.schema = { ...route.schema, hide: true };
        });
        ui.addContentTypeParser(
          'application/x-www-form-urlencoded',
          { parseAs: 'string' },
          (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body.toString()))),
        );
        ui.addHook('onSend', async (_request, reply, payload) => {
          reply.header('content-security-policy', CSP);
          reply.header('x-content-type-options', 'nosniff');
          reply.header('x-frame-options', 'DENY');
          // same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on form posts.
          reply.header('referrer-policy', 'same-origin');
          reply.header('cross-origin-opener-policy', 'same-origin');
          if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
          return payload;
        });
        ui.addHook(
          'onRequest',
          sessionGuard({
            sessions,
            loginRequired,
            openRoutes: new Set([`${CONSOLE_PREFIX}/login`, `${CONSOLE_PREFIX}/assets/:name`]),
          }),
        );
        ui.setErrorHandler((error: unknown, request, reply) => {
          if (error instanceof ApiError || isClientError(error)) {
            const status = (error as { statusCode: number }).statusCode;
            const message = error instanceof ApiError ? error.message : 'bad request';
            return sendPage(reply, status, frame(request, `Error ${status}`, errorBody(status, message)));
          }
          const err = error instanceof Error ? error : new Error('non-error thrown');
          request.log.error(
            { errName: err.name, errMessage: safeErrorMessage(err), stack: safeErrorStack(err) },
            'console request failed',
          );
          return sendPage(
            reply,
            500,
            frame(request, 'Error', errorBody(500, 'internal error; the server log has details')),
          );
        });
        const frame = (request: FastifyRequest, title: string, body: Html) =>
          page({ title, session: request.consoleSession, canLogOut: loginRequired, body });

        ui.get('/assets/:name', async (request, reply) => serveAsset(assets, request, reply));

        ui.get('/login', async (request, reply) => {
          const next = safeNext((request.query as { next?: unknown }).next);
          return sendPage(reply, 200, frame(request, 'Log in', loginBody(next, null)));
        });

        ui.post('/login', async (request, reply) => {
          const body = (request.body ?? {}) as Record<string, unknown>;
          const next = safeNext(body.next);
          const token = typeof body.token === 'string' ? body.token : '';
          if (!loginRequired) return reply.redirect(next, 303);
          if (token === '' || !verify(token)) {
            const markup = page({
              title: 'Log in',
              session: null,
              canLogOut: false,
              body: loginBody(next, 'That token is not valid.'),
            });
            return sendPage(reply, 401, markup);
          }
          const old = request.consoleSession;
          if (old !== null) sessions.delete(old.id); // a fresh id at login (no session fixation)
          const session = sessions.create();
          setSessionCookie(request, reply, session.id, sessions.maxAgeSeconds);
          return reply.redirect(next, 303);
        });

        ui.post('/logout', { preHandler: csrfGuard }, async (request, reply) => {
          if (request.consoleSession !== null) sessions.delete(request.consoleSession.id);
          setSessionCookie(request, reply, '', 0);
          return reply.redirect(`${CONSOLE_PREFIX}/login`, 303);
        });

        ui.get('/', async (request, reply) => {
          const view = await renderAccounts(core.repo, request.query, clock());
          return sendPage(reply, 200, frame(request, 'Accounts', view));
        });

        ui.get('/accounts/:id', async (request, reply) => {
          const view = await renderAccount(core.repo, idOf(request), request.consoleSession!, clock());
          return sendPage(reply, 200, frame(request, 'Account', view));
        });

        // The same on-demand test as POST /api/v1/accounts/:id/test, then back to the account page
        // (a plain form follows the redirect; the script fetches it and swaps the page's content).
        ui.post('/accounts/:id/test', { preHandler: csrfGuard }, async (request, reply) => {
          const id = idOf(request);
          await testStoredAccount(deps, id);
          return reply.redirect(`${CONSOLE_PREFIX}/accounts/${id}`, 303);
        });
      },
      { prefix: CONSOLE_PREFIX },
    );
  };
}

function isClientError(error: unknown): boolean {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}
