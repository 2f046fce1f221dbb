// Reads what a console page shows through the repository seam and renders it.
import { z } from 'zod';
import type { AccountRepository } from '../../accounts/repository.js';
import { ACCOUNT_STATUS_NAMES, type AccountStatus } from '../../accounts/types.js';
import { Scrubber, secretsOf } from '../api/views.js';
import { ApiError } from '../errors.js';
import type { Html } from './html.js';
import { accountBody } from './pages/account.js';
import { accountsBody, type AccountsQuery } from './pages/accounts.js';
import type { Session } from './session.js';
import { toRuns } from './timeline.js';

export const PAGE_SIZE = 50;
/** History rows read for the timeline (two per check with both sides). */
const HISTORY_ROWS = 2000;

const STATUS_BY_NAME = new Map(
  (Object.entries(ACCOUNT_STATUS_NAMES) as [string, string][]).map(([value, name]) => [
    name,
    Number(value) as AccountStatus,
  ]),
);

const querySchema = z.object({
  status: z
    .string()
    .refine((s) => s === '' || s === 'all' || STATUS_BY_NAME.has(s), 'must be a status name or "all"')
    .default(''),
  q: z.string().max(255).default(''),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
});

function parseQuery(raw: unknown): AccountsQuery {
  const parsed = querySchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(400, `query ${String(issue?.path[0] ?? '')}: ${issue?.message ?? 'is invalid'}`);
  }
  return { ...parsed.data, q: parsed.data.q.trim() };
}

export async function renderAccounts(repo: AccountRepository, rawQuery: unknown, now: Date): Promise<Html> {
  const query = parseQuery(rawQuery);
  const status = STATUS_BY_NAME.get(query.status);
  const [counts, list] = await Promise.all([
    repo.statusCounts(),
    repo.listAccountSummaries({
      ...(status === undefined ? {} : { statuses: [status] }),
      includeDeleted: query.status === 'all',
      search: query.q,
      limit: PAGE_SIZE,
      offset: (query.page - 1) * PAGE_SIZE,
    }),
  ]);
  return accountsBody({ query, counts, items: list.items, total: list.total, pageSize: PAGE_SIZE, now });
}

export async function renderAccount(
  repo: AccountRepository,
  id: number,
  session: Session,
  now: Date,
): Promise<Html> {
  // Secrets are read only to scrub them from stored free text; the page shows the mask.
  const account = await repo.getAccountWithSecrets(id);
  if (account === null) throw new ApiError(404, `account ${id} does not exist`);
  const [lastChecks, history, summary] = await Promise.all([
    repo.lastChecks(id),
    repo.history(id, { limit: HISTORY_ROWS }),
    repo.listAccountSummaries({ id, includeDeleted: true, limit: 1, offset: 0 }),
  ]);
  return accountBody({
    account,
    lastChecks,
    runs: toRuns(history),
    failingSince: summary.items[0]?.failingSince ?? null,
    session,
    scrub: new Scrubber(secretsOf(account)),
    now,
  });
}
