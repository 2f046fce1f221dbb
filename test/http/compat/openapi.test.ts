// The compat routes' zod schemas must render into the OpenAPI document the lead's server serves.
import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { expect, it } from 'vitest';

import { compatRoutes, type CompatDeps } from '../../../src/http/compat/index.js';

const unused = async (): Promise<never> => {
  throw new Error('not called: the document is built without requests');
};

it('renders every compat route into the OpenAPI document', async () => {
  const app = Fastify({ logger: false });
  await app.register(swagger, {
    openapi: { info: { title: 'mailmon', version: '0' } },
    transform: jsonSchemaTransform,
  });
  const deps: CompatDeps = { testTargets: unused, findStoredSmtpPassword: unused, saveEMailAccount: unused };
  await app.register(compatRoutes, { deps });
  await app.ready();
  try {
    const doc = app.swagger() as {
      paths: Record<string, { post: { requestBody?: { content: Record<string, { schema: unknown }> } } }>;
    };
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/Remote/Services87/EMail.svc',
      '/Remote/Services88/CustomerService.svc',
      '/api/v1/Agents/CustomerService/TestSmtpServer',
      '/api/v1/Agents/EMail/SaveEMailAccount',
      '/ccadmin/v1/email/test',
      '/dealers/{dealerUUID}/email-credentials/test',
    ]);
    const oracle = doc.paths['/ccadmin/v1/email/test']?.post.requestBody?.content['application/json']?.schema;
    expect(oracle).toMatchObject({
      properties: { emailSMTPPort: { type: 'string' } },
      required: expect.arrayContaining(['emailSMTPHost', 'emailSMTPPort']),
    });
  } finally {
    await app.close();
  }
});
