// The accounts page: counts by status, the filter form (plain GET), the table worst first, a pager.
import type { AccountSummary } from '../../../accounts/overview.js';
import { STATUS_SEVERITY } from '../../../accounts/overview.js';
import { ACCOUNT_STATUS_NAMES, type AccountStatus } from '../../../accounts/types.js';
import { relative, timeTag } from '../format.js';
import { html, type Html } from '../html.js';

/** The status filter: a status name, '' (all but Deleted) or 'all' (Deleted too). */
export type StatusFilter = string;

export interface AccountsQuery {
  status: StatusFilter;
  q: string;
  page: number;
}

export interface AccountsPage {
  query: AccountsQuery;
  counts: Record<AccountStatus, number>;
  items: AccountSummary[];
  total: number;
  pageSize: number;
  now: Date;
}

const statusClass = (status: AccountStatus): string => ACCOUNT_STATUS_NAMES[status].toLowerCase();

export function statusBadge(status: AccountStatus): Html {
  return html`<span class="badge ${statusClass(status)}">${ACCOUNT_STATUS_NAMES[status]}</span>`;
}

/** The page's URL with some query values replaced (empty values are left out). */
export function accountsUrl(query: AccountsQuery, change: Partial<AccountsQuery> = {}): string {
  const merged = { ...query, ...change };
  const params = new URLSearchParams();
  if (merged.status !== '') params.set('status', merged.status);
  if (merged.q !== '') params.set('q', merged.q);
  if (merged.page > 1) params.set('page', String(merged.page));
  const text = params.toString();
  return text === '' ? '/ui/' : `/ui/?${text}`;
}

function counts(view: AccountsPage): Html {
  const items = STATUS_SEVERITY.map((status) => {
    const name = ACCOUNT_STATUS_NAMES[status];
    const current = view.query.status === name;
    return html`<li>
      <a
        class="count ${statusClass(status)}"
        href="${accountsUrl(view.query, { status: name, page: 1 })}"
        ${current ? html` aria-current="true"` : null}
        ><span class="n">${view.counts[status]}</span> ${name}</a
      >
    </li>`;
  });
  return html`<ul class="counts" aria-label="Accounts by status">
    ${items}
  </ul>`;
}

function filterForm(query: AccountsQuery): Html {
  const options: [string, string][] = [
    ['', 'All but Deleted'],
    ...STATUS_SEVERITY.map((s): [string, string] => [ACCOUNT_STATUS_NAMES[s], ACCOUNT_STATUS_NAMES[s]]),
    ['all', 'All, Deleted too'],
  ];
  return html`<form method="get" action="/ui/" class="filter" role="search">
    <label for="status">Status</label>
    <select id="status" name="status">
      ${options.map(
        ([value, label]) =>
          html`<option value="${value}" ${value === query.status ? html` selected` : null}>${label}</option>`,
      )}
    </select>
    <label for="q">Address or @domain</label>
    <input
      id="q"
      name="q"
      type="search"
      value="${query.q}"
      maxlength="255"
      placeholder="alice or @example.com"
    />
    <button type="submit">Filter</button>
  </form>`;
}

function failingCell(item: AccountSummary): Html {
  if (item.failingSides.length === 0) return html`<span class="none">—</span>`;
  return html`${item.failingSides.map(
    (f) => html`<span class="side">${f.side.toUpperCase()}</span> <code>${f.code ?? 'unknown'}</code> `,
  )}`;
}

function row(item: AccountSummary, now: Date): Html {
  return html`<tr>
    <td data-label="Address"><a href="/ui/accounts/${item.id}">${item.emailAddress}</a></td>
    <td data-label="Status">
      ${statusBadge(item.status)}${item.errorCount > 0 ? html` <span class="count-errors" title="ErrorCount">×${item.errorCount}</span>` : null}
    </td>
    <td data-label="Failing">${failingCell(item)}</td>
    <td data-label="Reason" class="reason">
      ${item.errorReason === '' ? html`<span class="none">—</span>` : item.errorReason}
    </td>
    <td data-label="Failing since">${timeTag(item.failingSince, now)}</td>
    <td data-label="Last check">${timeTag(item.lastCheckAt, now)}</td>
    <td data-label="Next check">
      ${item.nextDueAt === null ? html`<span class="none">—</span>` : html`<time datetime="${item.nextDueAt.toISOString()}" title="${item.nextDueAt.toISOString()}">${relative(item.nextDueAt, now)}</time>`}
    </td>
  </tr>`;
}

function pager(view: AccountsPage): Html {
  const { page } = view.query;
  const pages = Math.max(1, Math.ceil(view.total / view.pageSize));
  const first = view.total === 0 ? 0 : (page - 1) * view.pageSize + 1;
  const last = Math.min(view.total, page * view.pageSize);
  const prev =
    page > 1
      ? html`<a rel="prev" href="${accountsUrl(view.query, { page: page - 1 })}">← Previous</a>`
      : null;
  const next =
    page < pages
      ? html`<a rel="next" href="${accountsUrl(view.query, { page: page + 1 })}">Next →</a>`
      : null;
  return html`<nav class="pager" aria-label="Pages">
    <span>${first}–${last} of ${view.total} (page ${page} of ${pages})</span> ${prev} ${next}
  </nav>`;
}

export function accountsBody(view: AccountsPage): Html {
  const table =
    view.items.length === 0
      ? html`<p class="empty">No accounts match.</p>`
      : html`<div class="table-wrap">
          <table class="accounts">
            <caption class="visually-hidden">
              Accounts, worst first
            </caption>
            <thead>
              <tr>
                <th scope="col">Address</th>
                <th scope="col">Status</th>
                <th scope="col">Failing</th>
                <th scope="col">Reason</th>
                <th scope="col">Failing since</th>
                <th scope="col">Last check</th>
                <th scope="col">Next check</th>
              </tr>
            </thead>
            <tbody>
              ${view.items.map((item) => row(item, view.now))}
            </tbody>
          </table>
        </div>`;
  return html`<h1>Accounts</h1>
    ${counts(view)} ${filterForm(view.query)} ${table} ${pager(view)}`;
}
