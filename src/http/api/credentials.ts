// The native API's shape ↔ the save service's: a create or update body becomes an AccountDraft
// (src/accounts/save.ts checks it); accounts.ts words the service's refusals.
import type { OAuthInput } from '../../accounts/repository.js';
import type { AccountDraft, SideDraft } from '../../accounts/save-rules.js';
import { defaultSecurityForPort } from '../../accounts/fields.js';
import { keepsPassword } from '../../accounts/superoffice-schema.js';
import { toOAuthInput } from '../../accounts/app-credentials.js';
import type { ProbeTarget, Protocol } from '../../probes/types.js';
import type {
  AccountInputBody,
  CredentialsInputBody,
  OAuthInputBody,
  TestCredentialsBody,
} from './schemas.js';
import { oauthFields } from './schemas.js';

/** An `oauth` object: absent, "" or the mask keeps a secret (undefined); clientSecret null = none. */
function toOAuthDraft(oauth: OAuthInputBody): OAuthInput {
  return toOAuthInput(oauthFields(oauth));
}

function toSideDraft(side: CredentialsInputBody | null): SideDraft | null {
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
    // undefined keeps the stored settings, null removes them.
    ...(side.oauth === undefined ? {} : { oauth: side.oauth === null ? null : toOAuthDraft(side.oauth) }),
  };
}

/** A validated native body → what the save service checks. `id` 0 creates. */
export function toAccountDraft(body: AccountInputBody, id: number): AccountDraft {
  return {
    emailAccountId: id,
    emailAddress: body.emailAddress,
    associateId: body.associateId,
    incoming: toSideDraft(body.incoming),
    outgoing: toSideDraft(body.outgoing),
    ...(body.delivery === undefined ? {} : { delivery: body.delivery }),
  };
}

/** An ad-hoc test side → probe target. */
export function toProbeTarget(
  protocol: Protocol,
  side: TestCredentialsBody,
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
