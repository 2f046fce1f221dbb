import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { SOAP_ROUTES, TEST_ROUTES } from './api/paths.js';
import { installTestRateLimit } from './api/rate-limit.js';
import { installAuth } from './auth.js';
import { installErrorHandling } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { CONSOLE_PREFIX } from './ui/paths.js';

export type HttpServer = Awaited<ReturnType<typeof buildHttpServer>>;

export interface HealthReport {
  ok: boolean;
  database: 'ok' | 'unreachable';
  lastSweepAt: string | null;
  sweepRunning: boolean;
}

export interface HttpDeps {
  config: Config['http'];
  logger: Logger;
  metrics: Metrics;
  health: () => Promise<HealthReport>;
  /** Shown in the OpenAPI document. */
  version?: string;
  /** Route plugins registered after the built-in ones (the API, compatible endpoints). */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

/**
 * Builds the HTTP server: error handling, token authentication (/healthz and /metrics open by
 * config), the OpenAPI collector and the test-endpoint rate limit at the root, then /healthz,
 * /metrics and the registered plugins. Does not listen.
 */
export async function buildHttpServer(deps: HttpDeps) {
  const root = Fastify({
    // Widened to fastify's logger type so the root instance fits the plugins' FastifyInstance.
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // No per-request log lines (they would carry URLs and headers); errors are logged by our handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.bodyLimitBytes,
    // request.ip (the rate limit's client key) comes from X-Forwarded-For only via these proxies.
    trustProxy: deps.config.trustedProxies.length > 0 ? [...deps.config.trustedProxies] : false,
    // Bound how long a slow client can hold a connection.
    requestTimeout: 120_000,
  });
  // An empty JSON body reads as "no body", so `curl -X POST -H 'content-type: application/json'` on
  // a route without a body works, and a route that needs one answers with its schema's 400.
  const parseJson = root.getDefaultJsonParser('error', 'error');
  root.removeContentTypeParser('application/json');
  root.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    return parseJson(request, text, done);
  });
  root.setValidatorCompiler(validatorCompiler);
  root.setSerializerCompiler(serializerCompiler);
  const { config } = deps;
  installErrorHandling(root, { bodyLimitBytes: config.bodyLimitBytes });
  installAuth(root, {
    tokenHashes: config.tokenHashes,
    publicRoutes: [
      ...(config.publicHealth ? ['/healthz'] : []),
      ...(config.publicMetrics ? ['/metrics'] : []),
    ],
    soapRoutes: SOAP_ROUTES,
    ownAuthPrefixes: [CONSOLE_PREFIX],
  });
  // Both collect routes as they are added, so they come before every route.
  await registerOpenApi(root, { version: deps.version ?? '0.0.0' });
  installTestRateLimit(root, { perMinute: config.testRateLimitPerMinute, routes: TEST_ROUTES });
  const app = root.withTypeProvider<ZodTypeProvider>();

  const operations = { tags: ['operations'] };
  app.get(
    '/healthz',
    { schema: { ...operations, summary: 'Liveness and database reachability (503 when not ok)' } },
    async (_request, reply) => {
      const report = await deps.health();
      return reply.code(report.ok ? 200 : 503).send(report);
    },
  );

  app.get(
    '/metrics',
    { schema: { ...operations, summary: 'Prometheus metrics (text exposition format)' } },
    async (_request, reply) => {
      const text = await deps.metrics.metricsText();
      return reply.type(deps.metrics.contentType).send(text);
    },
  );

  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app;
}
