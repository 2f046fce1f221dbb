// /api/v1/accounts: list, get (with the last check per side), create, update, delete, history.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AccountStatus, EmailAccount } from '../../accounts/types.js';
import { AccountDeletedError, AccountInputError, AccountNotFoundError } from '../../accounts/errors.js';
import { ApiError, errorBodySchema, fieldError } from '../errors.js';
import { toAccountDraft } from './credentials.js';
import { saveAccount, type ApiDeps } from './deps.js';
import {
  STATUS_NAMES,
  accountDetailSchema,
  accountInputSchema,
  accountListSchema,
  accountViewSchema,
  historyQuerySchema,
  historySchema,
  idParamsSchema,
  listQuerySchema,
  type AccountInputBody,
} from './schemas.js';
import { Scrubber, accountDetailView, accountView, historyView, secretsOf } from './views.js';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema };

export function notFound(id: number): ApiError {
  return new ApiError(404, `account ${id} does not exist`);
}

/** The save service's refusal in the native API's words (its field names are the neutral ones). */
function toApiError(error: unknown): unknown {
  if (error instanceof AccountInputError) return fieldError(error.field(), error.problem());
  if (error instanceof AccountNotFoundError) return notFound(error.emailAccountId);
  if (error instanceof AccountDeletedError) {
    return new ApiError(409, `account ${error.emailAccountId} is Deleted; create a new account instead`);
  }
  return error;
}

/** Saves (`id` 0 creates) and reads back; the save service's refusals become 400/404/409. */
async function save(deps: ApiDeps, body: AccountInputBody, id: number): Promise<EmailAccount> {
  try {
    return await saveAccount(deps, toAccountDraft(body, id));
  } catch (error) {
    throw toApiError(error);
  }
}

export const accountRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { repo } = deps;
  const tags = ['accounts'];

  app.get(
    '/accounts',
    {
      schema: {
        tags,
        summary:
          'List accounts (paged; Deleted accounts hidden unless includeDeleted=true or status=Deleted)',
        querystring: listQuerySchema,
        response: { 200: accountListSchema, ...errors },
      },
    },
    async (request) => {
      const { status, includeDeleted, limit = 100, offset = 0 } = request.query;
      const filter =
        status === undefined
          ? { excludeDeleted: !includeDeleted }
          : { status: STATUS_NAMES.indexOf(status) as AccountStatus };
      const { items, total } = await repo.listAccounts({ ...filter, limit, offset });
      return { items: items.map((account) => accountView(account)), total, limit, offset };
    },
  );

  app.post(
    '/accounts',
    {
      schema: {
        tags,
        summary: 'Create an account (passwords and OAuth2 secrets are write-only: never returned)',
        body: accountInputSchema,
        response: { 201: accountViewSchema, ...errors },
      },
    },
    async (request, reply) => {
      const saved = await save(deps, request.body, 0);
      return reply
        .code(201)
        .header('location', `/api/v1/accounts/${saved.emailAccountId}`)
        .send(accountView(saved));
    },
  );

  app.get(
    '/accounts/:id',
    {
      schema: {
        tags,
        summary: 'One account with the last check of each side (timings, TLS facts, redacted transcript)',
        params: idParamsSchema,
        response: { 200: accountDetailSchema, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      // Secrets are loaded only to scrub them from stored free text; the view masks every password.
      const account = await repo.getAccountWithSecrets(id);
      if (account === null) throw notFound(id);
      return accountDetailView(account, await repo.lastChecks(id), new Scrubber(secretsOf(account)));
    },
  );

  app.put(
    '/accounts/:id',
    {
      schema: {
        tags,
        summary: `Replace an account; a password or OAuth2 secret that is absent, "" or the mask keeps the stored one`,
        params: idParamsSchema,
        body: accountInputSchema,
        response: { 200: accountViewSchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request) => accountView(await save(deps, request.body, request.params.id)),
  );

  app.delete(
    '/accounts/:id',
    {
      schema: {
        tags,
        summary: 'Mark an account Deleted (kept with its history, no longer checked or exported)',
        params: idParamsSchema,
        response: { 200: accountViewSchema, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const before = await repo.markDeletedFrom(id);
      if (before === null) throw notFound(id);
      deps.observer.deleted(id, before);
      const account = await repo.getAccount(id);
      if (account === null) throw notFound(id);
      return accountView(account);
    },
  );

  app.get(
    '/accounts/:id/history',
    {
      schema: {
        tags,
        summary: 'Check history of an account, newest first (one entry per side and check)',
        params: idParamsSchema,
        querystring: historyQuerySchema,
        response: { 200: historySchema, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const account = await repo.getAccountWithSecrets(id);
      if (account === null) throw notFound(id);
      const entries = await repo.history(id, { limit: request.query.limit ?? 100 });
      return historyView(id, entries, new Scrubber(secretsOf(account)));
    },
  );
};
