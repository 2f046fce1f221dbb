// One budget shared by every test endpoint (native and vendor-compatible), counted in probe work:
// each side a request tests (one login at a mail server) costs one unit, so a dealer batch of 50
// entries with both sides costs 100 and a client gets http.testRateLimitPerMinute units a minute in
// all. (@fastify/rate-limit counts requests only, one each, which is why this is our own.)
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { ApiError } from '../errors.js';
import { WorkBudget } from './work-budget.js';

/** How many sides (mail-server logins) a request to a test endpoint will probe. */
export type TestCost = (request: FastifyRequest) => number | Promise<number>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on a test endpoint: its probe work. Absent: one unit per request. */
    testCost?: TestCost;
  }
}

type PreHandler = Extract<NonNullable<RouteOptions['preHandler']>, (...args: never[]) => unknown>;

const WINDOW_MS = 60_000;

function asArray(hook: RouteOptions['preHandler']): PreHandler[] {
  if (hook === undefined) return [];
  return Array.isArray(hook) ? hook : [hook as PreHandler];
}

/**
 * Attaches one shared work budget to the routes whose URL is in `routes` as they are added (call
 * before registering them). It runs as a preHandler: after authentication and validation, so neither
 * strangers nor malformed requests use up a client's budget, and the cost is computed from a
 * validated body. A request is charged at least one unit. Clients are told apart by IP address.
 * `now` is the clock in ms (default Date.now).
 */
export function installTestRateLimit(
  app: FastifyInstance,
  options: { perMinute: number; routes: readonly string[]; now?: () => number },
): void {
  const budget = new WorkBudget(options.perMinute, WINDOW_MS);
  const now = options.now ?? Date.now;
  const limiter: PreHandler = async (request, reply) => {
    const declared = request.routeOptions.config.testCost;
    const cost = Math.max(1, declared ? await declared(request) : 1);
    const decision = budget.take(request.ip, cost, now());
    const resetSeconds = Math.max(1, Math.ceil(decision.resetInMs / 1000));
    reply.header('x-ratelimit-limit', budget.max);
    reply.header('x-ratelimit-remaining', decision.remaining);
    reply.header('x-ratelimit-reset', resetSeconds);
    if (decision.ok) return;
    reply.header('retry-after', resetSeconds);
    const limit = `at most ${budget.max} per minute per client (http.testRateLimitPerMinute)`;
    throw new ApiError(
      429,
      decision.exceedsWindow
        ? `too many tests in one request: it tests ${cost} sides, ${limit}; split it into smaller requests`
        : `too many tests: this request tests ${cost} side${cost === 1 ? '' : 's'}, ${limit}, ` +
            `${decision.remaining} left; retry in ${resetSeconds} seconds`,
    );
  };
  const limited = new Set(options.routes);
  app.addHook('onRoute', (route) => {
    if (limited.has(route.url)) route.preHandler = [...asArray(route.preHandler), limiter];
  });
}
