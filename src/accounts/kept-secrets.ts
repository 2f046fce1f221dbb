// Which stored secrets a save may keep without being sent them again, and where each one goes. One
// table, read by the save rules (save-rules.ts) for every entry point: a secret that is kept stays
// with the destination it was given for, because whoever may edit an account cannot read its
// secrets, and must not be able to have mailmon send one to a server of their choosing.
//
// To add a secret (e.g. an app-only client certificate): give its input field `undefined` = "keep",
// add a row below naming its field, how to tell it is kept and stored, and the destinations it is
// sent to (add a Destination when it goes somewhere new, e.g. a service-account key's token URI).
import { AccountInputError, type FieldNamer } from './errors.js';
import type { ServiceAuthInput } from './repository.js';
import type { OAuthGrant, ServiceAuth } from './types.js';

/** The settings a side keeps from the stored one's, compared against the stored side. */
type Compared = Pick<
  ServiceAuthInput,
  'server' | 'port' | 'username' | 'security' | 'acceptUnverifiedCert' | 'caPem' | 'authType'
>;

/**
 * A kept password may only go to the server it was given for. Changing server, port or user name,
 * dropping TLS, changing the mechanism or trusting more while keeping it would let an editor have
 * mailmon send it elsewhere or in a weaker form. Returns the changed field's neutral name, or null.
 */
export function redirectsStoredPassword(stored: Compared, next: Compared): string | null {
  if (stored.server.toLowerCase() !== next.server.toLowerCase()) return 'server';
  if (stored.port !== next.port) return 'port';
  if (stored.username !== next.username) return 'username';
  if (stored.security !== 'none' && next.security === 'none') return 'security';
  // Another mechanism may send the secret in a weaker form (cram-md5 → plain, in clear without TLS).
  if (stored.authType !== next.authType) return 'authType';
  // Trusting more (any certificate, or a new CA) would let an impostor's certificate pass.
  if (!stored.acceptUnverifiedCert && next.acceptUnverifiedCert) return 'acceptUnverifiedCert';
  if (next.caPem !== null && next.caPem !== stored.caPem) return 'caPem';
  return null;
}

/** Somewhere a stored secret is sent; `changed` names the field that moved it, or null. */
interface Destination {
  changed(stored: ServiceAuth, next: ServiceAuthInput): string | null;
  /** The refusal's reason, after "is required when X changes: ". */
  why: string;
}

const mailServer = (why: string): Destination => ({ changed: redirectsStoredPassword, why });

const grantOf = (oauth: { grant?: OAuthGrant } | null | undefined): OAuthGrant =>
  oauth?.grant ?? 'refresh_token';

/** True for the grants without a person: their secrets get tokens for any mailbox of the tenant. */
export const isAppGrant = (oauth: { grant?: OAuthGrant } | null | undefined): boolean =>
  Boolean(oauth) && grantOf(oauth) !== 'refresh_token';

const tokenEndpoint = (why: string): Destination => ({
  changed: (stored, next) => {
    const [was, now] = [stored.oauth ?? null, next.oauth ?? null];
    if (was === null || now === null) return null;
    // Another grant sends the secret in another form, and to other ends (an app token serves every mailbox).
    if (grantOf(was) !== grantOf(now)) return 'grant';
    return was.tokenUrl !== now.tokenUrl || was.clientId !== now.clientId ? 'tokenUrl or clientId' : null;
  },
  why,
});

/**
 * An app-only credential mints tokens that act as whatever mailbox the side names, at whatever
 * server it names: keeping it while the mail server or user moves would let an editor read another
 * mailbox, or hand the tenant's token to a server of their choosing.
 */
const appMailServer = (why: string): Destination => ({
  changed: (stored, next) => (isAppGrant(next.oauth) ? redirectsStoredPassword(stored, next) : null),
  why,
});

export interface KeptSecret {
  /** Neutral path inside a side, e.g. `['oauth', 'refreshToken']`. */
  field: readonly string[];
  /** True when the side being saved keeps the stored value (its input field is undefined). */
  kept(next: ServiceAuthInput): boolean;
  /** True when the stored side (null: a new side) has a value to keep. */
  stored(side: ServiceAuth | null): boolean;
  /**
   * Keeping a value that is not stored: `refuse` with this problem, or `resolve` the input to
   * none (an optional secret, e.g. a public client's secret).
   */
  missing: { refuse: string } | { resolve(next: ServiceAuthInput): void };
  /** Where the secret goes: keeping it while any of these moves is refused. Checked in order. */
  sentTo: readonly Destination[];
}

const TOKEN_ENDPOINT_WHY = 'a stored secret is only sent to the token endpoint it was given for';
const APP_MAIL_SERVER_WHY =
  'an app-only credential gets tokens for any mailbox, so it is only kept for the server and user it was given for';

/** Checked in this order; the first refusal wins (a refresh token before the password it mints). */
export const KEPT_SECRETS: readonly KeptSecret[] = [
  {
    field: ['oauth', 'refreshToken'],
    kept: (next) => Boolean(next.oauth) && !isAppGrant(next.oauth) && next.oauth?.refreshToken === undefined,
    stored: (side) => Boolean(side?.oauth),
    missing: { refuse: 'is required for new OAuth settings' },
    sentTo: [
      tokenEndpoint(TOKEN_ENDPOINT_WHY),
      mailServer('a stored refresh token only gets access tokens for the server it was given for'),
    ],
  },
  {
    field: ['oauth', 'clientSecret'],
    kept: (next) => Boolean(next.oauth) && next.oauth?.clientSecret === undefined,
    stored: (side) => (side?.oauth?.clientSecret ?? null) !== null,
    // Keeping a secret that was never stored keeps none: a public client.
    missing: {
      resolve: (next) => {
        if (next.oauth) next.oauth.clientSecret = null;
      },
    },
    sentTo: [
      tokenEndpoint(`${TOKEN_ENDPOINT_WHY} (or none, for a public client)`),
      appMailServer(APP_MAIL_SERVER_WHY),
    ],
  },
  {
    field: ['oauth', 'privateKey'],
    kept: (next) => isAppGrant(next.oauth) && next.oauth?.privateKey === undefined,
    stored: (side) => (side?.oauth?.privateKey ?? null) !== null,
    // Keeping a key that was never stored keeps none: a client secret is used instead.
    missing: {
      resolve: (next) => {
        if (next.oauth) next.oauth.privateKey = null;
      },
    },
    sentTo: [tokenEndpoint(TOKEN_ENDPOINT_WHY), appMailServer(APP_MAIL_SERVER_WHY)],
  },
  {
    field: ['password'],
    kept: (next) => next.password === undefined,
    stored: (side) => side !== null,
    missing: { refuse: 'is required for new credentials' },
    sentTo: [mailServer('a stored password is only sent to the server it was given for')],
  },
];

/**
 * Applies KEPT_SECRETS to one side being saved (`side` is its neutral path, e.g. `incoming`):
 * resolves optional secrets kept but not stored, and refuses a kept secret that is missing or
 * would follow a moved destination.
 */
export function checkKeptSecrets(side: string, stored: ServiceAuth | null, next: ServiceAuthInput): void {
  for (const secret of KEPT_SECRETS) {
    if (!secret.kept(next)) continue;
    const path = [side, ...secret.field];
    if (!secret.stored(stored)) {
      if ('refuse' in secret.missing) {
        const problem = secret.missing.refuse;
        throw new AccountInputError(path, () => problem);
      }
      secret.missing.resolve(next);
      continue;
    }
    for (const destination of secret.sentTo) {
      const changed = stored === null ? null : destination.changed(stored, next);
      if (changed !== null) {
        throw new AccountInputError(
          path,
          (name: FieldNamer) =>
            `is required when ${changed.split(' or ').map(name).join(' or ')} changes: ${destination.why}`,
        );
      }
    }
  }
}
