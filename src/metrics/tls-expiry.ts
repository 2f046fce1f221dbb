import type { Protocol } from '../probes/types.js';

/** The server a check talked to. Host names label the TLS series; never a username or address. */
export interface Endpoint {
  host: string;
  port: number;
}

interface Certificate {
  host: string;
  port: string;
  /** notAfter, Unix seconds */
  expiresAt: number;
  /** The account sides (`id/protocol`) whose last check saw this endpoint. */
  users: Set<string>;
}

/**
 * Certificate expiry per endpoint (`host:port`), kept while at least one account side still uses the
 * endpoint. Reference counting is what lets a certificate's series disappear when the last account on
 * that server is deleted or moves elsewhere, instead of alerting forever on a server nobody checks.
 */
export class TlsExpiryTracker {
  private readonly certificates = new Map<string, Certificate>();
  /** Which endpoint each account side refers to. */
  private readonly endpointOf = new Map<string, string>();

  /**
   * Record what one check saw. `notAfter` null with `ok` true means the side talks plain text (or the
   * probe saw no certificate) now: the side lets go of its endpoint. A failed check without TLS facts
   * (e.g. connection refused) keeps the last known expiry: the certificate has not changed.
   */
  record(
    accountId: number,
    protocol: Protocol,
    endpoint: Endpoint,
    notAfter: string | null | undefined,
    ok: boolean,
  ): void {
    // No server configured for this side (the check failed as config_invalid): nothing was seen.
    if (endpoint.host === '') return;
    const user = `${accountId}/${protocol}`;
    const key = endpointKey(endpoint);
    const previous = this.endpointOf.get(user);
    if (previous !== undefined && previous !== key) this.release(user, previous);

    const expiresAt = notAfter ? Date.parse(notAfter) / 1000 : NaN;
    if (Number.isFinite(expiresAt)) {
      const certificate = this.certificates.get(key);
      if (certificate) {
        certificate.expiresAt = expiresAt;
        certificate.users.add(user);
      } else {
        const host = endpoint.host.toLowerCase();
        this.certificates.set(key, { host, port: String(endpoint.port), expiresAt, users: new Set([user]) });
      }
      this.endpointOf.set(user, key);
    } else if (ok) {
      this.release(user, key);
    }
  }

  /** Forget every side of an account. */
  removeAccount(accountId: number, protocols: readonly Protocol[]): void {
    for (const protocol of protocols) {
      const user = `${accountId}/${protocol}`;
      const key = this.endpointOf.get(user);
      if (key !== undefined) this.release(user, key);
    }
  }

  /** Forget every side of every account not in `keep`. */
  retainAccounts(keep: ReadonlySet<number>): void {
    this.retainWhere((id) => keep.has(id));
  }

  /** Forget every side of every account for which `keep` says false. */
  retainWhere(keep: (id: number) => boolean): void {
    for (const [user, key] of [...this.endpointOf]) {
      // user is `id/protocol`
      if (!keep(Number.parseInt(user, 10))) this.release(user, key);
    }
  }

  *entries(): Generator<{ host: string; port: string; expiresAt: number }> {
    yield* this.certificates.values();
  }

  private release(user: string, key: string): void {
    this.endpointOf.delete(user);
    const certificate = this.certificates.get(key);
    if (!certificate) return;
    certificate.users.delete(user);
    if (certificate.users.size === 0) this.certificates.delete(key);
  }
}

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.host.toLowerCase()}:${endpoint.port}`;
}
