// The save rules, pure: what a request to save an account (from any entry point) becomes once
// checked against the stored account. The save service (save.ts) runs them inside the save's
// transaction, on the stored row as it is under the write lock.
import { AccountDeletedError, AccountInputError, AccountNotFoundError, type FieldNamer } from './errors.js';
import { checkKeptSecrets, isAppGrant } from './kept-secrets.js';
import { GOOGLE_MAIL_SCOPE, MICROSOFT_DEFAULT_SCOPE } from '../probes/oauth2-app.js';
import type { AccountInput, OAuthInput, ServiceAuthInput, SideName, StoredAccount } from './repository.js';
import { AccountStatus, type DeliverySetting, type OAuthGrant, type ServiceAuth } from './types.js';

/**
 * One side as an entry point asks to save it: ServiceAuthInput, except that the TLS trust fields
 * may be left out (undefined), as SuperOffice's shape has no such fields: left out, they keep the
 * stored side's values while its server and port stay the same, and are the defaults otherwise.
 */
export interface SideDraft extends Omit<ServiceAuthInput, 'acceptUnverifiedCert' | 'caPem'> {
  acceptUnverifiedCert: boolean | undefined;
  caPem: string | null | undefined;
}

/** An account as an entry point asks to save it. `emailAccountId` 0 creates. */
export interface AccountDraft {
  emailAccountId: number;
  emailAddress: string;
  associateId: number;
  incoming: SideDraft | null;
  outgoing: SideDraft | null;
  /** The delivery round trip opt-in; undefined keeps the stored setting (off on create). */
  delivery?: DeliverySetting;
}

/**
 * The checked input to store for `draft`; `stored` is the account it updates (null: none, or a
 * create). Throws AccountNotFoundError, AccountDeletedError or AccountInputError (neutral paths).
 */
export function settleAccount(draft: AccountDraft, stored: StoredAccount | null): AccountInput {
  const id = draft.emailAccountId;
  if (id !== 0 && stored === null) throw new AccountNotFoundError(id);
  if (stored?.account.accountStatus === AccountStatus.Deleted) throw new AccountDeletedError(id);
  const side = (name: SideName) =>
    settleSide(name, draft[name], stored?.account[name] ?? null, () => stored?.hasPassword(name) ?? false);
  const incoming = side('incoming');
  const outgoing = side('outgoing');
  return {
    emailAccountId: id,
    emailAddress: draft.emailAddress,
    associateId: draft.associateId,
    incoming,
    outgoing,
    ...(draft.delivery === undefined ? {} : { delivery: draft.delivery }),
    credentialsChanged:
      stored === null ||
      credentialsChanged(stored, 'incoming', incoming) ||
      credentialsChanged(stored, 'outgoing', outgoing),
  };
}

/**
 * Whether saving `next` as side `name` changes what the side logs in with: where it connects, as
 * whom, how, and with which secret. Only then does a save end a backoff after credential failures.
 */
export function credentialsChanged(
  stored: StoredAccount,
  name: SideName,
  next: ServiceAuthInput | null,
): boolean {
  const was = stored.account[name];
  if (was === null || next === null) return was !== next;
  if (
    was.server.toLowerCase() !== next.server.toLowerCase() ||
    was.port !== next.port ||
    was.username !== next.username ||
    was.authType !== next.authType ||
    was.security !== next.security
  )
    return true;
  if (next.password !== undefined && stored.samePassword?.(name, next.password) !== true) return true;
  const [a, b] = [was.oauth ?? null, next.oauth ?? null];
  if (a === null || b === null) return a !== b;
  return (
    a.tokenUrl !== b.tokenUrl ||
    a.clientId !== b.clientId ||
    b.refreshToken !== undefined ||
    (b.clientSecret !== undefined && b.clientSecret !== null)
  );
}

function settleSide(
  name: SideName,
  draft: SideDraft | null,
  stored: ServiceAuth | null,
  storedHasPassword: () => boolean,
): ServiceAuthInput | null {
  if (draft === null) return null;
  const next: ServiceAuthInput = {
    ...draft,
    ...settleTrust(draft, stored),
    oauth: draft.authType === 'oauth2' ? settleOAuth(draft.oauth, stored) : null,
  };
  // A new grant (a refresh token given) without an access token drops the stored one, which belongs
  // to the old grant; the first check fetches a fresh one. A new side may start that way too.
  if (next.oauth?.refreshToken !== undefined && next.password === undefined) next.password = '';
  // App-only sides keep no access token: every check takes the shared one (checks/app-tokens.ts).
  if (next.oauth && isAppGrant(next.oauth)) {
    next.password = '';
    next.oauth.scope ??= defaultScope(next.oauth.grant);
    keepCredentialFacts(next.oauth, stored);
  }
  checkKeptSecrets(name, stored, next);
  refuseSideThatCannotLogIn(name, next, storedHasPassword);
  refuseAppGrantWithoutCredential(name, next);
  return next;
}

/** Trust (like a secret) belongs to the server it was set for: it is not carried to another one. */
function settleTrust(
  draft: SideDraft,
  stored: ServiceAuth | null,
): Pick<ServiceAuthInput, 'acceptUnverifiedCert' | 'caPem'> {
  const sameServer =
    stored !== null &&
    stored.server.toLowerCase() === draft.server.toLowerCase() &&
    stored.port === draft.port;
  return {
    acceptUnverifiedCert: draft.acceptUnverifiedCert ?? (sameServer && stored.acceptUnverifiedCert),
    caPem: draft.caPem === undefined ? (sameServer ? stored.caPem : null) : draft.caPem,
  };
}

/**
 * An oauth2 side's OAuth settings to store: left out (undefined), the stored ones are kept, spelled
 * out with their secrets kept so that the kept-secret rules see them like any other.
 */
function settleOAuth(oauth: OAuthInput | null | undefined, stored: ServiceAuth | null): OAuthInput | null {
  if (oauth !== undefined) return oauth === null ? null : { ...oauth };
  const settings = stored?.oauth ?? null;
  if (settings === null) return null;
  return {
    ...(settings.grant === undefined ? {} : { grant: settings.grant }),
    tokenUrl: settings.tokenUrl,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret === null ? null : undefined,
    refreshToken: undefined,
    scope: settings.scope,
    ...(isAppGrant(settings)
      ? {
          privateKey: (settings.privateKey ?? null) === null ? null : undefined,
          certThumbprint: settings.certThumbprint ?? null,
          credentialExpiresAt: settings.credentialExpiresAt ?? null,
        }
      : {}),
  };
}

/**
 * The thumbprint and expiry belong to the credential: left out (undefined), they are the stored
 * ones while the credential is kept too, and unknown for a new credential.
 */
function keepCredentialFacts(oauth: OAuthInput, stored: ServiceAuth | null): void {
  const was = stored?.oauth ?? null;
  if (oauth.certThumbprint === undefined)
    oauth.certThumbprint = oauth.privateKey === undefined ? (was?.certThumbprint ?? null) : null;
  if (oauth.credentialExpiresAt === undefined) {
    const kept = oauth.privateKey === undefined && oauth.clientSecret === undefined;
    oauth.credentialExpiresAt = kept ? (was?.credentialExpiresAt ?? null) : null;
  }
}

function defaultScope(grant: OAuthGrant | undefined): string {
  return grant === 'jwt_bearer' ? GOOGLE_MAIL_SCOPE : MICROSOFT_DEFAULT_SCOPE;
}

/**
 * An app-only side signs in with exactly one credential: client_credentials with a client secret or
 * a certificate (its key and thumbprint), jwt_bearer with the service account's key. `undefined`
 * (kept) counts as given: the kept-secret rules checked that one is stored.
 */
function refuseAppGrantWithoutCredential(name: SideName, next: ServiceAuthInput): void {
  const oauth = next.oauth;
  if (!oauth || !isAppGrant(oauth)) return;
  const has = (value: string | null | undefined) => value !== null;
  const refuse = (field: string, problem: (f: FieldNamer) => string) => {
    throw new AccountInputError([name, 'oauth', field], problem);
  };
  if (oauth.grant === 'jwt_bearer') {
    if (!has(oauth.privateKey))
      refuse(
        'serviceAccountKey',
        () => 'is required: the jwt_bearer grant signs with the service account key',
      );
    if (has(oauth.clientSecret))
      refuse(
        'clientSecret',
        () => 'is not used by the jwt_bearer grant: send null (or leave it out on create)',
      );
    return;
  }
  const [secret, key] = [has(oauth.clientSecret), has(oauth.privateKey)];
  if (secret === key)
    refuse('clientSecret', (f) =>
      secret
        ? `and ${f('privateKey')} are both set: client credentials use one of them (send the other as null)`
        : `or a certificate (${f('privateKey')}) is required for client credentials`,
    );
  if (key && !oauth.certThumbprint)
    refuse('certificate', (f) => `(or ${f('certThumbprint')}) is required with a private key`);
}

/**
 * An oauth2 side without OAuth settings logs in with the access token it is given (its password);
 * without one stored either it could never pass: the save is refused, asking for the token.
 */
function refuseSideThatCannotLogIn(
  name: SideName,
  next: ServiceAuthInput,
  storedHasPassword: () => boolean,
): void {
  if (next.authType !== 'oauth2' || next.oauth) return;
  if (next.password === undefined ? storedHasPassword() : next.password !== '') return;
  throw new AccountInputError(
    [name, 'password'],
    (field) =>
      `is required: without ${field('oauth')} settings this side logs in only with an access token given as ${field('password')}, and none is stored`,
  );
}
