// Turns whatever reached a compat plugin's error handler into a status and a client-safe message;
// each plugin then renders it in its vendor's error shape.
import type { FastifyError, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

import { describeIssues, type FieldIssue } from '../../accounts/fields.js';
import { safeErrorMessage, safeErrorStack } from '../../logging/safe-error.js';
import { validationIssues } from '../errors.js';

export interface ClientError {
  status: number;
  /** One sentence naming the field(s) for validation errors. */
  message: string;
  /** Per-field issues; empty unless this is a validation failure. */
  issues: FieldIssue[];
}

/** Thrown by handlers for input the schema could not express (e.g. a SOAP envelope's content). */
export class CompatInputError extends Error {
  readonly statusCode = 400;
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[]) {
    super(describeIssues(issues));
    this.name = 'CompatInputError';
    this.issues = issues;
  }
}

/** How the vendor endpoints name where a field is: `path.dealerUUID`, `header.…`. */
const CONTEXT_NAMES: Readonly<Record<string, string>> = {
  body: '',
  querystring: 'query.',
  params: 'path.',
  headers: 'header.',
};

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && Number.isInteger(status) ? status : undefined;
}

/**
 * Maps an error to what the client may see. Messages of JSON syntax errors are replaced: Node's
 * SyntaxError quotes the body, which may hold a password. Fastify's own FST_ERR_* messages are
 * static text and pass through; so do 4xx errors thrown deliberately by CompatDeps. Everything
 * else is a 500 with no detail, logged (message and stack only) for the operator.
 */
export function toClientError(error: unknown, request: FastifyRequest): ClientError {
  if (error instanceof CompatInputError) return { status: 400, message: error.message, issues: error.issues };
  const fastifyError = error as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fastifyError)) {
    const issues = validationIssues(fastifyError, CONTEXT_NAMES);
    return { status: 400, message: describeIssues(issues), issues };
  }
  const status = statusOf(error);
  if (status !== undefined && status >= 400 && status < 500) {
    if (error instanceof SyntaxError)
      return { status, message: 'request body is not valid JSON', issues: [] };
    const message = error instanceof Error ? error.message : 'bad request';
    return { status, message, issues: [] };
  }
  const err = error instanceof Error ? error : new Error('non-error thrown');
  request.log.error(
    // Without knex's SQL (and its values) in a database error's message and stack.
    { errName: err.name, errMessage: safeErrorMessage(err), stack: safeErrorStack(err) },
    'compat endpoint failed',
  );
  return { status: 500, message: 'internal error', issues: [] };
}
