// The HTTP API as one plugin: the native routes under /api/v1, the OpenAPI document, and the
// vendor-compatible endpoints at their vendors' paths, all over the daemon's core.
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../app.js';
import { compatRoutes } from '../compat/index.js';
import { createCompatDeps } from '../compat-deps.js';
import { OPENAPI_PATH, openApiDocument } from '../openapi.js';
import { accountRoutes } from './accounts.js';
import type { ApiDeps } from './deps.js';
import { testRoutes } from './tests.js';

export { SOAP_ROUTES, TEST_ROUTES } from './paths.js';
export type { ApiDeps } from './deps.js';

/**
 * Builds the API plugin for `startDaemon`'s plugin list. On server close it aborts in-flight
 * on-demand checks (they record nothing and answer 503) so shutdown does not wait for mail servers.
 */
export function apiPlugin(
  core: Pick<Core, 'repo' | 'checker' | 'logger'>,
): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    const closing = new AbortController();
    app.addHook('preClose', async () => closing.abort(new Error('server closing')));
    const deps: ApiDeps = {
      repo: core.repo,
      checker: core.checker,
      observer: core.checker.observer,
      logger: core.logger,
      signal: closing.signal,
    };
    await app.register(
      async (api) => {
        await api.register(accountRoutes, { deps });
        await api.register(testRoutes, { deps });
        api.get(
          OPENAPI_PATH.slice('/api/v1'.length),
          { schema: { tags: ['operations'], summary: 'This API as an OpenAPI 3 document' } },
          async () => openApiDocument(app),
        );
      },
      { prefix: '/api/v1' },
    );
    await app.register(compatRoutes, { deps: createCompatDeps(deps) });
  };
}
