import Table from 'cli-table3';
import { REDACTED } from '../security/redact.js';
import type { SideCheck } from '../accounts/repository.js';
import { AccountStatus, type EmailAccount, type OAuthSettings } from '../accounts/types.js';

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

/** An oauth2 side's token settings without a secret: which grant, for which app, until when. */
export function oauthJson(oauth: OAuthSettings) {
  return {
    grant: oauth.grant ?? 'refresh_token',
    tokenUrl: oauth.tokenUrl,
    clientId: oauth.clientId,
    credential:
      (oauth.grant ?? 'refresh_token') === 'refresh_token'
        ? 'refresh token'
        : (oauth.privateKey ?? null) !== null
          ? oauth.certThumbprint
            ? 'certificate'
            : 'service account key'
          : oauth.clientSecret !== null
            ? 'client secret'
            : 'none',
    certThumbprint: oauth.certThumbprint ?? null,
    credentialExpiresAt: oauth.credentialExpiresAt?.toISOString() ?? null,
    scope: oauth.scope,
  };
}

/** "certificate (x5t ...) until 2027-06-30T00:00:00.000Z", for `accounts show`. */
export function describeOAuth(oauth: OAuthSettings, now: Date): string {
  const j = oauthJson(oauth);
  const days = oauth.credentialExpiresAt
    ? Math.floor((oauth.credentialExpiresAt.getTime() - now.getTime()) / 86_400_000)
    : null;
  const expiry =
    j.credentialExpiresAt === null
      ? 'expiry unknown'
      : `expires ${j.credentialExpiresAt}${days !== null && days < 0 ? ' (EXPIRED)' : ` (in ${days} days)`}`;
  return `${j.grant} at ${j.tokenUrl}, client ${j.clientId}, ${j.credential}${j.certThumbprint ? ` x5t ${j.certThumbprint}` : ''}; ${expiry}`;
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
          ...(auth.oauth ? { oauth: oauthJson(auth.oauth) } : {}),
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
