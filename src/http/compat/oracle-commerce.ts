// Oracle Commerce admin: POST /ccadmin/v1/email/test (testSmtpConnection).
import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import type { ProbeTarget } from '../../probes/types.js';
import type { CompatPluginOptions } from './deps.js';
import { toClientError } from './errors.js';
import { hostSchema, lineSchema, portStringSchema, secretSchema } from '../../accounts/fields.js';

export const ORACLE_EMAIL_TEST_PATH = '/ccadmin/v1/email/test';

/** errorCode for every input error: Oracle documents the field as "the numerical code", as a string. */
export const ORACLE_INVALID_INPUT_CODE = '400001';
const ORACLE_INTERNAL_ERROR_CODE = '500001';

/** testSmtpConnection_request. The port is a string; SSL is implicit TLS, TLS is STARTTLS. */
export const testSmtpConnectionSchema = z.object({
  emailSMTPHost: hostSchema,
  emailSMTPPort: portStringSchema,
  emailSMTPAuthMethod: z
    .string({ error: 'must be "SSL" or "TLS"' })
    .regex(/^(ssl|tls)$/i, { error: 'must be "SSL" or "TLS"' })
    .transform((value) => (value.toUpperCase() === 'SSL' ? ('tls' as const) : ('starttls' as const))),
  /** Empty (as in Oracle's sample) means no AUTH. */
  emailSMTPUsername: lineSchema(320).default(''),
  emailSMTPPassword: secretSchema(4096).default(''),
});

const errorItemSchema = z.object({
  status: z.string(),
  errorCode: z.string(),
  message: z.string(),
  'o:errorPath': z.string().optional(),
});
const errorModelSchema = z.object({
  status: z.string(),
  errorCode: z.string(),
  message: z.string(),
  type: z.string().optional(),
  errors: z.array(errorItemSchema),
});

function useZodAndErrorModel(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((error, request, reply) => {
    const client = toClientError(error, request);
    const status = String(client.status);
    const errorCode = client.status >= 500 ? ORACLE_INTERNAL_ERROR_CODE : ORACLE_INVALID_INPUT_CODE;
    const body: z.input<typeof errorModelSchema> = {
      status,
      errorCode,
      message: client.message,
      type: 'https://www.rfc-editor.org/rfc/rfc9110#name-status-codes',
      errors: client.issues.map((issue) => ({
        status,
        errorCode,
        message: `${issue.path}: ${issue.message}`,
        'o:errorPath': issue.path,
      })),
    };
    return reply.code(client.status).type('application/json; charset=utf-8').send(JSON.stringify(body));
  });
}

/** Registers Oracle Commerce's SMTP connection test. Options: `{ deps }`. */
export const oracleCommerceRoutes: FastifyPluginAsyncZod<CompatPluginOptions> = async (app, { deps }) => {
  useZodAndErrorModel(app);

  app.post(
    ORACLE_EMAIL_TEST_PATH,
    {
      schema: {
        summary: 'Oracle Commerce-compatible testSmtpConnection',
        body: testSmtpConnectionSchema,
        response: {
          200: z.object({ status: z.boolean() }),
          '4xx': errorModelSchema,
          '5xx': errorModelSchema,
        },
      },
    },
    async (request) => {
      const body = request.body;
      const target: ProbeTarget = {
        protocol: 'smtp',
        host: body.emailSMTPHost,
        port: body.emailSMTPPort,
        security: body.emailSMTPAuthMethod,
        authType: 'password',
        username: body.emailSMTPUsername,
        secret: body.emailSMTPPassword,
        acceptUnverifiedCert: false,
      };
      const [result] = await deps.testTargets([target]);
      if (result === undefined) throw new Error('testTargets returned no result for the SMTP target');
      return { status: result.ok };
    },
  );
};
