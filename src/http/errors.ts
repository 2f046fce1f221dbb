// One error shape for every native route, /healthz, /metrics and unknown paths:
// `{ statusCode, error, message, issues? }`. Validation failures name the field; anything unexpected
// is a 500 that says nothing about internals (no stack, no library message), logged for the operator.
// The vendor-compatible plugins set their own handlers and answer in their vendors' shapes.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { describeIssues, type FieldIssue } from '../accounts/fields.js';
import { safeErrorMessage, safeErrorStack } from '../logging/safe-error.js';

/** An error a route throws on purpose; its message is safe to show as is. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A 400 naming one field. */
export function fieldError(path: string, message: string): ApiError {
  return new ApiError(400, `${path}: ${message}`, [{ path, message }]);
}

export const errorBodySchema = z
  .object({
    statusCode: z.number().int(),
    error: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ description: 'Every error: HTTP status, its name, one sentence naming the field(s) at fault.' });

export type ErrorBody = z.infer<typeof errorBodySchema>;

/** How the native API names where a field is: `incoming.port`, `query.limit`, `params.id`. */
const CONTEXT_PREFIX: Readonly<Record<string, string>> = {
  body: '',
  querystring: 'query.',
  params: 'params.',
  headers: 'headers.',
};

/**
 * A schema validation failure as one issue per field: the path is the field's, after the prefix
 * `contextPrefix` gives the part of the request (body, querystring, ...); `(body)` (or
 * `query.(querystring)`, ...) for that part as a whole.
 */
export function validationIssues(
  error: FastifyError,
  contextPrefix: Readonly<Record<string, string>>,
): FieldIssue[] {
  const context = error.validationContext ?? 'body';
  const prefix = contextPrefix[context] ?? '';
  return (error.validation ?? []).map((item) => {
    const path = item.instancePath.split('/').filter(Boolean).join('.');
    return {
      path: path === '' ? `${prefix}(${context})` : `${prefix}${path}`,
      message: item.message ?? 'is invalid',
    };
  });
}

function body(status: number, message: string, issues: FieldIssue[] = []): ErrorBody {
  return {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    message,
    ...(issues.length > 0 ? { issues } : {}),
  };
}

/** What the client may see of an error. Exported for tests and for plugins that want the same rules. */
export function toErrorBody(error: unknown, options: { bodyLimitBytes: number }): ErrorBody | null {
  if (error instanceof ApiError) return body(error.statusCode, error.message, error.issues);
  const fastifyError = error as Partial<FastifyError> | null;
  if (hasZodFastifySchemaValidationErrors(fastifyError)) {
    const issues = validationIssues(fastifyError as FastifyError, CONTEXT_PREFIX);
    return body(400, describeIssues(issues), issues);
  }
  const status = fastifyError?.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 499) return null;
  if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return body(413, `request body is larger than ${options.bodyLimitBytes} bytes (http.bodyLimitBytes)`);
  }
  // Node's JSON.parse message quotes the body, which may hold a password.
  if (error instanceof SyntaxError) return body(status, 'request body is not valid JSON');
  // Fastify's own 4xx errors (FST_ERR_*) carry static sentences; other thrown 4xx are deliberate.
  return body(status, error instanceof Error ? error.message : (STATUS_CODES[status] ?? 'bad request'));
}

function sendError(reply: FastifyReply, payload: ErrorBody): FastifyReply {
  return reply.code(payload.statusCode).type('application/json; charset=utf-8').send(payload);
}

/** Installs the error and not-found handlers on the root instance. */
export function installErrorHandling(app: FastifyInstance, options: { bodyLimitBytes: number }): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const payload = toErrorBody(error, options);
    if (payload !== null) return sendError(reply, payload);
    const err = error instanceof Error ? error : new Error('non-error thrown');
    // Message and stack for the operator; the cause chain may hold a library's view of a secret,
    // and a database error's message knex's SQL with its values (the safe forms drop it).
    request.log.error(
      { errName: err.name, errMessage: safeErrorMessage(err), stack: safeErrorStack(err) },
      'request failed',
    );
    return sendError(reply, body(500, 'internal error; the server log has details'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      body(
        404,
        `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''}; see /api/v1/openapi.json`,
      ),
    ),
  );
}
