// SuperOffice REST agents: POST /api/v1/Agents/CustomerService/TestSmtpServer and
// POST /api/v1/Agents/EMail/SaveEMailAccount.
import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import type { CompatPluginOptions } from './deps.js';
import { toClientError } from './errors.js';
import { canonicalKeys, isRecord } from '../../accounts/fields.js';
import {
  canonicalizeEMailAccount,
  eMailAccountOutSchema,
  eMailAccountSchema,
  maskEMailAccount,
} from '../../accounts/superoffice-schema.js';
import { runTestSmtpServer, testSmtpServerRequestSchema } from './superoffice-test-smtp.js';

export const TEST_SMTP_SERVER_PATH = '/api/v1/Agents/CustomerService/TestSmtpServer';
export const SAVE_EMAIL_ACCOUNT_PATH = '/api/v1/Agents/EMail/SaveEMailAccount';

/** SuperOffice's carrier metadata: mailmon has no field-level rights, so none are reported. */
const CARRIER_META = { TableRight: null, FieldProperties: {} } as const;

const carrierMetaSchema = { TableRight: z.null(), FieldProperties: z.record(z.string(), z.unknown()) };

const smtpTestResultSchema = z.object({
  Success: z.boolean().nullable(),
  ErrorMessage: z.string().nullable(),
  ...carrierMetaSchema,
});

const errorSchema = z.object({
  Error: z.string(),
  ErrorType: z.string(),
  Errors: z.array(z.object({ Field: z.string(), Message: z.string() })),
});

/**
 * `$select=Success,ErrorMessage`: properties not listed are nulled out, as SuperOffice does to
 * shrink payloads. Names compare case-insensitively; the carrier metadata is always kept.
 */
function applySelect<T extends Record<string, unknown>>(result: T, select: string | undefined): T {
  if (select === undefined || select.trim() === '') return result;
  const wanted = new Set(select.split(',').map((name) => name.trim().toLowerCase()));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) {
    out[key] = wanted.has(key.toLowerCase()) || key in CARRIER_META ? value : null;
  }
  return out as T;
}

/** SuperOffice agents take their parameters wrapped (`{ "EMailAccount": {...} }`); accept it bare too. */
function unwrapEMailAccount(body: unknown): unknown {
  if (!isRecord(body)) return body;
  const wrapped = Object.entries(body).find(([key]) => key.toLowerCase() === 'emailaccount');
  return canonicalizeEMailAccount(wrapped !== undefined && isRecord(wrapped[1]) ? wrapped[1] : body);
}

function useZodAndSuperOfficeErrors(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((error, request, reply) => {
    const client = toClientError(error, request);
    const errorType =
      client.issues.length > 0 ? 'ValidationError' : client.status >= 500 ? 'InternalError' : 'BadRequest';
    return reply
      .code(client.status)
      .type('application/json; charset=utf-8')
      .send(
        JSON.stringify({
          Error: client.message,
          ErrorType: errorType,
          Errors: client.issues.map((issue) => ({ Field: issue.path, Message: issue.message })),
        }),
      );
  });
  // SuperOffice documents text/json beside application/json.
  app.addContentTypeParser('text/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
}

/** Registers the two SuperOffice REST agent endpoints. Options: `{ deps }`. */
export const superOfficeRestRoutes: FastifyPluginAsyncZod<CompatPluginOptions> = async (app, { deps }) => {
  useZodAndSuperOfficeErrors(app);

  app.post(
    TEST_SMTP_SERVER_PATH,
    {
      schema: {
        summary: 'SuperOffice-compatible SMTP test',
        description: 'SmtpUri like smtps://user:password@host:465 (implicit TLS) or smtp://... (STARTTLS).',
        querystring: z.object({ $select: z.string().max(1000).optional() }),
        body: testSmtpServerRequestSchema,
        response: { 200: smtpTestResultSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
      preValidation: async (request) => {
        if (isRecord(request.body)) {
          request.body = canonicalKeys(request.body, [
            'SmtpUri',
            'From',
            'UseStoredPassword',
          ]) as typeof request.body;
        }
      },
    },
    async (request) => {
      const outcome = await runTestSmtpServer(deps, request.body);
      return applySelect({ ...outcome, ...CARRIER_META }, request.query.$select);
    },
  );

  app.post(
    SAVE_EMAIL_ACCOUNT_PATH,
    {
      schema: {
        summary: 'SuperOffice-compatible EMailAccount create (EMailAccountId 0) or update',
        body: eMailAccountSchema,
        response: {
          200: eMailAccountOutSchema.extend(carrierMetaSchema),
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
      preValidation: async (request) => {
        request.body = unwrapEMailAccount(request.body) as typeof request.body;
      },
    },
    async (request) => {
      const saved = await deps.saveEMailAccount(request.body);
      return { ...maskEMailAccount(saved), ...CARRIER_META };
    },
  );
};
