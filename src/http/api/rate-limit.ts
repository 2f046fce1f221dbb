// One rate limit shared by every test endpoint (native and vendor-compatible): each request there
// connects to a mail server, so a client gets http.testRateLimitPerMinute of them in all, per minute.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ApiError } from '../errors.js';

type PreHandler = Extract<NonNullable<RouteOptions['preHandler']>, (...args: never[]) => unknown>;

function asArray(hook: RouteOptions['preHandler']): PreHandler[] {
  if (hook === undefined) return [];
  return Array.isArray(hook) ? hook : [hook as PreHandler];
}

/**
 * Registers @fastify/rate-limit on the root instance and attaches one shared limiter to the routes
 * whose URL is in `routes` as they are added (call before registering them). The limiter runs as a
 * preHandler: after authentication and validation, so neither strangers nor malformed requests use
 * up a client's budget. Clients are told apart by IP address.
 */
export async function installTestRateLimit(
  app: FastifyInstance,
  options: { perMinute: number; routes: readonly string[] },
): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    max: options.perMinute,
    timeWindow: 60_000,
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        `too many test requests: at most ${context.max} per minute per client (http.testRateLimitPerMinute); retry in ${context.after}`,
      ),
  });
  const limiter = app.rateLimit();
  const limited = new Set(options.routes);
  app.addHook('onRoute', (route) => {
    if (limited.has(route.url)) route.preHandler = [...asArray(route.preHandler), limiter as PreHandler];
  });
}
