import Table from 'cli-table3';
import { REDACTED } from '../security/redact.js';
import type { SideCheck } from '../accounts/repository.js';
import { AccountStatus, type EmailAccount } from '../accounts/types.js';

/** A text table; the last column (a reason, usually) wraps at `lastColumnWidth` characters. */
export function table(head: string[], rows: (string | number)[][], lastColumnWidth = 60): string {
  const colWidths = head.map((_, i) => (i === head.length - 1 ? lastColumnWidth : null));
  const t = new Table({ head, style: { head: [], border: [] }, wordWrap: true, colWidths });
  t.push(...rows.map((r) => r.map(String)));
  return `${t.toString()}\n`;
}

export function statusName(status: AccountStatus): string {
  return AccountStatus[status] ?? String(status);
}

export function when(date: Date | null): string {
  return date === null ? '-' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A stored account as plain JSON for --json output; passwords are never included. */
export function accountJson(account: EmailAccount, lastChecks?: SideCheck[]) {
  const side = (auth: EmailAccount['incoming']) =>
    auth === null
      ? null
      : {
          server: auth.server,
          port: auth.port,
          security: auth.security,
          authType: auth.authType,
          username: auth.username,
          password: REDACTED,
        };
  return {
    id: account.emailAccountId,
    emailAddress: account.emailAddress,
    associateId: account.associateId,
    status: statusName(account.accountStatus),
    accountStatus: account.accountStatus,
    errorCount: account.errorCount,
    errorReason: account.errorReason,
    incoming: side(account.incoming),
    outgoing: side(account.outgoing),
    registered: account.registered.toISOString(),
    updated: account.updated.toISOString(),
    lastCheckAt: account.lastCheckAt?.toISOString() ?? null,
    lastSuccessAt: account.lastSuccessAt?.toISOString() ?? null,
    nextDueAt: account.nextDueAt?.toISOString() ?? null,
    authBackoff:
      account.authBackoff && account.authBackoff.failures > 0
        ? { failures: account.authBackoff.failures, code: account.authBackoff.code ?? 'auth_rejected' }
        : null,
    ...(lastChecks ? { lastChecks } : {}),
  };
}
