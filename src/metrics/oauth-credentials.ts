// Health of the OAuth2 credentials themselves (issue 11): how the token endpoints answer, and when
// each app-only credential (a certificate, a client secret with a configured expiry) stops working.
// Both families are bounded: results are a closed set, and expiry series are per credential
// (token endpoint host and client id), kept while some account side still uses it.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FailureCode } from '../probes/errors.js';
import type { Protocol } from '../probes/types.js';

export const TOKEN_GRANTS = ['refresh_token', 'client_credentials', 'jwt_bearer'] as const;

/** mailmon_oauth_token_requests_total's result label: one per answer a person reads differently. */
export const TOKEN_RESULTS = [
  'ok',
  'consent_missing',
  'client_invalid',
  'grant_invalid',
  'refused',
  'unreachable',
  'other',
] as const;
type TokenResult = (typeof TOKEN_RESULTS)[number];

const RESULT_OF: Partial<Record<FailureCode, TokenResult>> = {
  oauth_consent_missing: 'consent_missing',
  oauth_client_invalid: 'client_invalid',
  oauth_grant_invalid: 'grant_invalid',
  oauth_token_refresh_failed: 'refused',
  oauth_endpoint_unreachable: 'unreachable',
};

export function tokenResultLabel(result: 'ok' | FailureCode): TokenResult {
  return result === 'ok' ? 'ok' : (RESULT_OF[result] ?? 'other');
}

/** The credential an account side signs in with, as the expiry series labels it (no secret). */
export interface CredentialRef {
  tokenUrl: string;
  clientId: string;
}

interface Credential {
  tokenHost: string;
  clientId: string;
  expiresAt: number;
  users: Set<string>;
}

export class OAuthCredentialMetrics {
  private readonly requests: Counter<'grant' | 'result'>;
  private readonly credentials = new Map<string, Credential>();
  private readonly credentialOf = new Map<string, string>();

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'mailmon_oauth_token_requests_total',
      help: 'Requests sent to OAuth2 token endpoints, by grant and result (ok, consent_missing, client_invalid, grant_invalid, refused, unreachable, other). Cached tokens are not counted.',
      labelNames: ['grant', 'result'],
      registers: [registry],
    });
    for (const grant of TOKEN_GRANTS)
      for (const result of TOKEN_RESULTS) this.requests.inc({ grant, result }, 0);
    const credentials = this.credentials;
    new Gauge({
      name: 'mailmon_oauth_credential_expiry_timestamp_seconds',
      help: "When an app-only OAuth2 credential stops working (a certificate's notAfter, a client secret's configured expiry), Unix seconds, per token endpoint host and client id.",
      labelNames: ['token_host', 'client_id'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of credentials.values())
          this.set({ token_host: c.tokenHost, client_id: c.clientId }, c.expiresAt);
      },
    });
  }

  /** One request sent; refusals before sending (egress policy, settings) are not requests. */
  tokenRequest(grant: string, result: 'ok' | FailureCode): void {
    if (result === 'egress_denied' || result === 'config_invalid') return;
    const label = (TOKEN_GRANTS as readonly string[]).includes(grant) ? grant : 'refresh_token';
    this.requests.inc({ grant: label, result: tokenResultLabel(result) });
  }

  /** What an account side's credential is now: null when it has none with a known expiry. */
  recordCredential(
    accountId: number,
    protocol: Protocol,
    ref: CredentialRef | null,
    expiresAt: Date | null,
  ): void {
    const user = `${accountId}/${protocol}`;
    const previous = this.credentialOf.get(user);
    if (previous !== undefined) this.release(user, previous);
    if (ref === null || expiresAt === null) return;
    let tokenHost: string;
    try {
      tokenHost = new URL(ref.tokenUrl).host.toLowerCase();
    } catch {
      return;
    }
    const key = `${tokenHost}\0${ref.clientId}`;
    const credential = this.credentials.get(key);
    if (credential) {
      credential.expiresAt = expiresAt.getTime() / 1000;
      credential.users.add(user);
    } else {
      this.credentials.set(key, {
        tokenHost,
        clientId: ref.clientId,
        expiresAt: expiresAt.getTime() / 1000,
        users: new Set([user]),
      });
    }
    this.credentialOf.set(user, key);
  }

  removeSides(accountId: number, protocols: readonly Protocol[]): void {
    for (const protocol of protocols) {
      const user = `${accountId}/${protocol}`;
      const key = this.credentialOf.get(user);
      if (key !== undefined) this.release(user, key);
    }
  }

  retainAccounts(keep: ReadonlySet<number>): void {
    for (const [user, key] of [...this.credentialOf]) {
      if (!keep.has(Number.parseInt(user, 10))) this.release(user, key);
    }
  }

  private release(user: string, key: string): void {
    this.credentialOf.delete(user);
    const credential = this.credentials.get(key);
    if (!credential) return;
    credential.users.delete(user);
    if (credential.users.size === 0) this.credentials.delete(key);
  }
}
