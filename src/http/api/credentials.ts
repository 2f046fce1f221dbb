// Write-only passwords: how a create or update body becomes what the repository stores, and the one
// rule that keeps a stored password from being redirected.
import type { AccountInput, ServiceAuthInput } from '../../accounts/repository.js';
import type { EmailAccount, ServiceAuth } from '../../accounts/types.js';
import { defaultSecurityForPort } from '../../accounts/fields.js';
import type { ProbeTarget, Protocol } from '../../probes/types.js';
import { fieldError } from '../errors.js';
import { PASSWORD_MASK, type AccountInputBody, type CredentialsInputBody } from './schemas.js';

/** True when a password field means "keep the stored one". */
export function keepsPassword(password: string | undefined): boolean {
  return password === undefined || password === '' || password === PASSWORD_MASK;
}

/**
 * A kept password may only go to the server it was given for. Changing server, port or user name
 * (or dropping TLS) while keeping the stored password would let anyone with API access, who cannot
 * read passwords, have mailmon send one to a server of their choosing; such a change must come with
 * the password. Returns the reason, or null when keeping is fine.
 */
export function redirectsStoredPassword(
  stored: Pick<ServiceAuth, 'server' | 'port' | 'username' | 'security' | 'acceptUnverifiedCert' | 'caPem'>,
  next: Pick<
    ServiceAuthInput,
    'server' | 'port' | 'username' | 'security' | 'acceptUnverifiedCert' | 'caPem'
  >,
): string | null {
  if (stored.server.toLowerCase() !== next.server.toLowerCase()) return 'server';
  if (stored.port !== next.port) return 'port';
  if (stored.username !== next.username) return 'username';
  if (stored.security !== 'none' && next.security === 'none') return 'security';
  // Trusting more (any certificate, or a new CA) would let an impostor's certificate pass.
  if (!stored.acceptUnverifiedCert && next.acceptUnverifiedCert) return 'acceptUnverifiedCert';
  if (next.caPem !== null && next.caPem !== stored.caPem) return 'caPem';
  return null;
}

/**
 * Checks that a side which keeps its stored password has one to keep, at the same server. `path` is
 * the password's field path reported in the 400 (e.g. `incoming.password`).
 */
export function checkKeptPassword(
  path: string,
  stored: ServiceAuth | null,
  next: ServiceAuthInput | null,
): void {
  if (next === null || next.password !== undefined) return;
  if (stored === null) throw fieldError(path, 'is required for new credentials');
  const changed = redirectsStoredPassword(stored, next);
  if (changed !== null) {
    throw fieldError(
      path,
      `is required when ${changed} changes: a stored password is only sent to the server it was given for`,
    );
  }
}

function toServiceAuthInput(side: CredentialsInputBody | null): ServiceAuthInput | null {
  if (side === null) return null;
  return {
    server: side.server,
    port: side.port,
    authType: side.authType,
    username: side.username,
    password: keepsPassword(side.password) ? undefined : side.password,
    security: side.security ?? defaultSecurityForPort(side.port),
    acceptUnverifiedCert: side.acceptUnverifiedCert,
    caPem: side.caPem,
  };
}

/**
 * A validated native body → repository input. `existing` is the stored account on update (null on
 * create); throws a 400 naming the field when a password is missing or would be redirected.
 */
export function toAccountInput(body: AccountInputBody, existing: EmailAccount | null): AccountInput {
  const incoming = toServiceAuthInput(body.incoming);
  const outgoing = toServiceAuthInput(body.outgoing);
  checkKeptPassword('incoming.password', existing?.incoming ?? null, incoming);
  checkKeptPassword('outgoing.password', existing?.outgoing ?? null, outgoing);
  return {
    ...(existing === null ? {} : { emailAccountId: existing.emailAccountId }),
    emailAddress: body.emailAddress,
    associateId: body.associateId,
    incoming,
    outgoing,
  };
}

/** An ad-hoc test side → probe target. */
export function toProbeTarget(
  protocol: Protocol,
  side: CredentialsInputBody & { password: string },
  emailAddress: string | undefined,
): ProbeTarget {
  return {
    protocol,
    host: side.server,
    port: side.port,
    security: side.security ?? defaultSecurityForPort(side.port),
    authType: side.authType,
    username: side.username,
    secret: side.password,
    acceptUnverifiedCert: side.acceptUnverifiedCert,
    ...(side.caPem === null ? {} : { caPem: side.caPem }),
    ...(emailAddress === undefined ? {} : { emailAddress }),
  };
}
