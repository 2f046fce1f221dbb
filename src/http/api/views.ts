// Domain objects → response bodies. Every password and OAuth secret becomes the mask; a probe result's `cause` (the
// library's raw error) is never copied; free text that came from a probe is scrubbed of the secrets
// that were in play, as a last line of defence behind the probes' own redaction.
import type { HistoryEntry, SideCheck } from '../../accounts/repository.js';
import type { EmailAccount, ServiceAuth } from '../../accounts/types.js';
import type {
  DeliveryFacts,
  ProbeResult,
  ProbeWarning,
  QuotaFacts,
  TranscriptLine,
} from '../../probes/types.js';
import { credentialScrubber } from '../compat/redact.js';
import { PASSWORD_MASK } from '../../accounts/superoffice-schema.js';
import {
  statusName,
  type AccountView,
  type SideResultView,
  type accountDetailSchema,
  type historySchema,
  type lastCheckSchema,
} from './schemas.js';
import type { z } from 'zod';

/** Removes the given secrets from every piece of free text a probe produced. */
export class Scrubber {
  private readonly scrub: (text: string) => string;

  constructor(secrets: readonly string[]) {
    this.scrub = credentialScrubber(secrets);
  }

  text(value: string): string {
    return this.scrub(value);
  }

  nullable(value: string | null | undefined): string | null {
    return value === null || value === undefined ? null : this.text(value);
  }

  transcript(lines: readonly TranscriptLine[]): TranscriptLine[] {
    return lines.map((l) => ({ t: l.t, dir: l.dir, line: this.text(l.line) }));
  }
}

export const NO_SCRUB = new Scrubber([]);

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

function credentialsView(auth: ServiceAuth | null): AccountView['incoming'] {
  if (auth === null) return null;
  return {
    server: auth.server,
    port: auth.port,
    security: auth.security,
    authType: auth.authType,
    username: auth.username,
    password: PASSWORD_MASK,
    acceptUnverifiedCert: auth.acceptUnverifiedCert,
    caPem: auth.caPem,
    oauth: auth.oauth
      ? {
          grant: auth.oauth.grant ?? 'refresh_token',
          tokenUrl: auth.oauth.tokenUrl,
          clientId: auth.oauth.clientId,
          clientSecret: auth.oauth.clientSecret === null ? null : PASSWORD_MASK,
          refreshToken: (auth.oauth.grant ?? 'refresh_token') === 'refresh_token' ? PASSWORD_MASK : null,
          privateKey: (auth.oauth.privateKey ?? null) === null ? null : PASSWORD_MASK,
          certThumbprint: auth.oauth.certThumbprint ?? null,
          credentialExpiresAt: iso(auth.oauth.credentialExpiresAt ?? null),
          scope: auth.oauth.scope,
          accessExpiresAt: iso(auth.oauth.accessExpiresAt),
        }
      : null,
  };
}

/** Null unless the account's checks back off after credential failures (nextDueAt says until when). */
export function authBackoffView(account: EmailAccount): AccountView['authBackoff'] {
  const backoff = account.authBackoff;
  if (!backoff || backoff.failures === 0) return null;
  return { failures: backoff.failures, code: backoff.code ?? 'auth_rejected' };
}

/** `scrub` is given where the account's secrets were loaded anyway (detail, test, history). */
export function accountView(account: EmailAccount, scrub: Scrubber = NO_SCRUB): AccountView {
  return {
    id: account.emailAccountId,
    emailAddress: account.emailAddress,
    associateId: account.associateId,
    status: statusName(account.accountStatus),
    errorCount: account.errorCount,
    errorReason: scrub.text(account.errorReason),
    incoming: credentialsView(account.incoming),
    outgoing: credentialsView(account.outgoing),
    registered: account.registered.toISOString(),
    updated: account.updated.toISOString(),
    lastCheckAt: iso(account.lastCheckAt),
    lastSuccessAt: iso(account.lastSuccessAt),
    nextDueAt: iso(account.nextDueAt),
    delivery: { enabled: account.delivery?.enabled ?? false, to: account.delivery?.to ?? null },
    authBackoff: authBackoffView(account),
  };
}

export function sideResultView(result: ProbeResult, scrub: Scrubber): SideResultView {
  const response = result.response;
  return {
    side: result.protocol,
    ok: result.ok,
    code: result.code,
    phase: result.phase,
    reason: scrub.nullable(result.reason),
    durationMs: Math.round(result.durationMs),
    phases: result.phases.map((p) => ({ phase: p.phase, ms: Math.round(p.ms) })),
    tls: result.tls ?? null,
    transcript: scrub.transcript(result.transcript),
    response:
      response === undefined
        ? null
        : {
            ...(response.code === undefined ? {} : { code: scrub.text(response.code) }),
            ...(response.text === undefined ? {} : { text: scrub.text(response.text) }),
          },
    address: result.address ?? null,
    ...mailboxView(result, scrub),
  };
}

export function lastCheckView(side: SideCheck, scrub: Scrubber): z.infer<typeof lastCheckSchema> {
  return {
    side: side.side,
    ok: side.ok,
    code: side.code,
    phase: side.phase,
    reason: scrub.nullable(side.reason),
    durationMs: Math.round(side.durationMs),
    phases: side.details?.phases.map((p) => ({ phase: p.phase, ms: Math.round(p.ms) })) ?? [],
    tls: side.details?.tls ?? null,
    transcript: scrub.transcript(side.details?.transcript ?? []),
    ...mailboxView(side.details ?? {}, scrub),
    checkedAt: side.checkedAt.toISOString(),
    lastSuccessAt: iso(side.lastSuccessAt),
  };
}

/** Quota, delivery round trip and warning of a side (null when the check did not produce them). */
function mailboxView(
  facts: { quota?: QuotaFacts; delivery?: DeliveryFacts; warning?: ProbeWarning },
  scrub: Scrubber,
): Pick<SideResultView, 'quota' | 'delivery' | 'warning'> {
  return {
    quota: facts.quota ? { ...facts.quota, root: scrub.text(facts.quota.root) } : null,
    delivery: facts.delivery ?? null,
    warning: facts.warning ? { code: facts.warning.code, reason: scrub.text(facts.warning.reason) } : null,
  };
}

export function accountDetailView(
  account: EmailAccount,
  lastChecks: readonly SideCheck[],
  scrub: Scrubber,
): z.infer<typeof accountDetailSchema> {
  return { ...accountView(account, scrub), lastChecks: lastChecks.map((side) => lastCheckView(side, scrub)) };
}

export function historyView(
  accountId: number,
  entries: readonly HistoryEntry[],
  scrub: Scrubber,
): z.infer<typeof historySchema> {
  return {
    accountId,
    items: entries.map((e) => ({
      side: e.side,
      checkedAt: e.checkedAt.toISOString(),
      ok: e.ok,
      code: e.code,
      phase: e.phase,
      reason: scrub.nullable(e.reason),
      durationMs: Math.round(e.durationMs),
    })),
  };
}

/** The secrets of an account read with secrets (passwords, OAuth2 secrets), for scrubbing what its checks report. */
export function secretsOf(account: EmailAccount | null): string[] {
  if (account === null) return [];
  return [account.incoming, account.outgoing]
    .filter((auth): auth is ServiceAuth => auth !== null)
    .flatMap((auth) => [
      auth.password,
      auth.oauth?.refreshToken ?? '',
      auth.oauth?.clientSecret ?? '',
      auth.oauth?.privateKey ?? '',
    ])
    .filter((secret) => secret !== '');
}
