// On-demand tests: a stored account (recorded exactly like a scheduled check) or credentials given
// in the body (nothing stored). Both run through the AccountChecker, so the egress policy, the
// per-host limits and the deadline apply as for scheduled checks.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AccountStatus } from '../../accounts/types.js';
import type { CheckReport } from '../../checks/account-checker.js';
import type { ProbeTarget } from '../../probes/types.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { notFound } from './accounts.js';
import { toProbeTarget } from './credentials.js';
import type { ApiDeps } from './deps.js';
import { accountTestResultSchema, adHocResultSchema, adHocTestSchema, idParamsSchema } from './schemas.js';
import { Scrubber, accountView, secretsOf, sideResultView } from './views.js';

export const ACCOUNT_TEST_ROUTE = '/api/v1/accounts/:id/test';
export const AD_HOC_TEST_ROUTE = '/api/v1/test';

const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  404: errorBodySchema,
  429: errorBodySchema,
  503: errorBodySchema,
};

function shuttingDown(): ApiError {
  return new ApiError(503, 'mailmon is shutting down; the test was cancelled and nothing was recorded');
}

/**
 * Tests a stored account now and records the result as a scheduled check would (the API's and the
 * console's re-test both come here). Throws ApiError 404 for a missing or Deleted account and 503
 * when shutdown cancelled the check.
 */
export async function testStoredAccount(
  deps: Pick<ApiDeps, 'repo' | 'checker' | 'signal'>,
  id: number,
): Promise<CheckReport> {
  const report = await deps.checker.check(id, { signal: deps.signal });
  if (report === null) {
    // No report: the account is missing or Deleted, or the (possibly shared) check was cancelled.
    const account = await deps.repo.getAccount(id);
    if (account === null) throw notFound(id);
    if (account.accountStatus === AccountStatus.Deleted) throw new ApiError(404, `account ${id} is Deleted`);
    throw shuttingDown();
  }
  return report;
}

export const testRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['tests'];

  app.post(
    '/accounts/:id/test',
    {
      schema: {
        tags,
        summary: 'Test a stored account now and record the result as a scheduled check would',
        description:
          'Updates AccountStatus, ErrorCount, ErrorReason, history and metrics exactly as a scheduled ' +
          'check. Concurrent requests for one account share one check. Rate-limited (http.testRateLimitPerMinute): ' +
          'costs one unit per stored side.',
        params: idParamsSchema,
        response: { 200: accountTestResultSchema, ...errors },
      },
      config: {
        // The stored sides are what the check will probe; an unknown account costs the minimum.
        testCost: async (request) => {
          const account = await deps.repo.getAccount((request.params as { id: number }).id);
          return account === null ? 1 : [account.incoming, account.outgoing].filter(Boolean).length;
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const report = await testStoredAccount(deps, id);
      const account = await deps.repo.getAccountWithSecrets(id);
      if (account === null) throw notFound(id);
      const scrub = new Scrubber(secretsOf(account));
      return {
        accountId: id,
        ok: report.outcome.ok,
        account: accountView(account, scrub),
        sides: report.results.map((result) => sideResultView(result, scrub)),
      };
    },
  );

  app.post(
    '/test',
    {
      schema: {
        tags,
        summary: 'Test credentials given in the body; nothing is stored',
        description:
          'Rate-limited (http.testRateLimitPerMinute): costs one unit per side given. Passwords are required and never echoed.',
        body: adHocTestSchema,
        response: { 200: adHocResultSchema, ...errors },
      },
      config: {
        testCost: (request) => {
          const { incoming, outgoing } = request.body as { incoming?: unknown; outgoing?: unknown };
          return [incoming, outgoing].filter(Boolean).length;
        },
      },
    },
    async (request) => {
      const { incoming, outgoing, emailAddress } = request.body;
      const targets: ProbeTarget[] = [];
      if (incoming) targets.push(toProbeTarget('imap', incoming, emailAddress));
      if (outgoing) targets.push(toProbeTarget('smtp', outgoing, emailAddress));
      const results = await deps.checker.probeTargets(targets, deps.signal);
      if (deps.signal.aborted) throw shuttingDown();
      const scrub = new Scrubber(targets.map((t) => t.secret));
      return {
        ok: results.every((r) => r.ok),
        sides: results.map((result) => sideResultView(result, scrub)),
      };
    },
  );
};
