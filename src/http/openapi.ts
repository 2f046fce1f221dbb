// The OpenAPI document, generated from the zod schemas the routes validate with (one source of truth).
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export const OPENAPI_PATH = '/api/v1/openapi.json';

/**
 * Registers @fastify/swagger on the root instance. Must run before any route is added: swagger
 * collects routes as they are registered.
 */
export async function registerOpenApi(app: FastifyInstance, options: { version: string }): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'mailmon API',
        version: options.version,
        description:
          'Mailbox health monitor. Native API under /api/v1, plus endpoints compatible with ' +
          'SuperOffice, Oracle Commerce and a dealer communications API. See docs/api.md.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API token (http.tokenHashes holds its SHA-256).',
          },
          basic: { type: 'http', scheme: 'basic', description: 'Any user name, the API token as password.' },
        },
      },
      security: [{ bearer: [] }, { basic: [] }],
      tags: [
        { name: 'accounts', description: 'Stored accounts (passwords are write-only)' },
        { name: 'tests', description: 'On-demand tests' },
        { name: 'operations', description: 'Health, metrics and this document' },
      ],
    },
    transform: jsonSchemaTransform,
  });
}

/** The generated document (call after the server is ready). */
export function openApiDocument(app: FastifyInstance): unknown {
  return app.swagger();
}
