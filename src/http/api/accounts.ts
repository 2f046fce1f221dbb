// /api/v1/accounts: list, get (with the last check per side), create, update, delete, history.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AccountNotFoundError } from '../../accounts/repository.js';
import { AccountInputError } from '../../accounts/superoffice-mapping.js';
import { AccountStatus, type EmailAccount } from '../../accounts/types.js';
import { ApiError, errorBodySchema, fieldError } from '../errors.js';
import { toAccountInput } from './credentials.js';
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

/** Saves and reads back; repository refusals become 400/404 naming the field. */
async function save(
  deps: ApiDeps,
  body: AccountInputBody,
  existing: EmailAccount | null,
): Promise<EmailAccount> {
  const input = toAccountInput(body, existing);
  try {
    return await saveAccount(deps, input);
  } catch (error) {
    if (error instanceof AccountNotFoundError) throw notFound(error.emailAccountId);
    if (error instanceof AccountInputError)
      throw fieldError(error.field, error.message.slice(error.field.length + 2));
    throw error;
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
        summary: 'List accounts (paged; Deleted accounts included unless filtered out by status)',
        querystring: listQuerySchema,
        response: { 200: accountListSchema, ...errors },
      },
    },
    async (request) => {
      const { status, limit = 100, offset = 0 } = request.query;
      const filter = status === undefined ? {} : { status: STATUS_NAMES.indexOf(status) as AccountStatus };
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
      const saved = await save(deps, request.body, null);
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
    async (request) => {
      const { id } = request.params;
      const existing = await repo.getAccount(id);
      if (existing === null) throw notFound(id);
      if (existing.accountStatus === AccountStatus.Deleted) {
        throw new ApiError(409, `account ${id} is Deleted; create a new account instead`);
      }
      return accountView(await save(deps, request.body, existing));
    },
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
