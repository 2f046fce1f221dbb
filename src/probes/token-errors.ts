// What a token endpoint's refusal means for the person who must act on it: the failure code of an
// OAuth2 error answer (RFC 6749 section 5.2) with the provider's own codes in its description
// (Entra ID's AADSTSnnnn, Google's texts). The same mapping serves every grant: a refresh token,
// client credentials and the JWT bearer grant, so one code means one thing whatever the flow.
import type { FailureCode } from './errors.js';

/** Entra ID error numbers (AADSTSnnnn in error_description) that say more than the OAuth error. */
const AADSTS: ReadonlyMap<number, FailureCode> = new Map<number, FailureCode>([
  [65001, 'oauth_consent_missing'], // the admin has not consented to the app in this tenant
  [65004, 'oauth_consent_missing'], // the user declined consent
  [50105, 'oauth_consent_missing'], // the signed-in identity is not assigned to the app
  [700016, 'oauth_consent_missing'], // the app is not found in the tenant (never consented there)
  [7000215, 'oauth_client_invalid'], // invalid client secret
  [7000222, 'oauth_client_invalid'], // the client secret expired
  [700027, 'oauth_client_invalid'], // the client assertion's signature or certificate is not registered
  [7000112, 'oauth_client_invalid'], // the application is disabled
  [70008, 'oauth_grant_invalid'], // the refresh token or code expired
  [700082, 'oauth_grant_invalid'], // the refresh token expired from inactivity
  [50173, 'oauth_grant_invalid'], // the grant was revoked (password changed, sessions revoked)
]);

/** OAuth error values (RFC 6749 5.2 and OpenID Connect) that need a person, by what they mean. */
const OAUTH_ERRORS: Readonly<Record<string, FailureCode>> = {
  invalid_client: 'oauth_client_invalid',
  unauthorized_client: 'oauth_consent_missing',
  access_denied: 'oauth_consent_missing',
  consent_required: 'oauth_consent_missing',
  interaction_required: 'oauth_consent_missing',
  invalid_grant: 'oauth_grant_invalid',
};

/**
 * The failure code of a token endpoint's non-2xx answer. 5xx and 429 are the endpoint's trouble
 * (unreachable: try again later); an OAuth error is read first through the provider's own number;
 * any other refusal (invalid_request, invalid_scope, unsupported_grant_type, a 404 page) stays
 * oauth_token_refresh_failed: the settings are wrong in a way only the reason explains.
 */
export function tokenRefusalCode(status: number, error?: string, description?: string): FailureCode {
  if (status >= 500 || status === 429) return 'oauth_endpoint_unreachable';
  for (const match of (description ?? '').matchAll(/\bAADSTS(\d{4,8})\b/g)) {
    const code = AADSTS.get(Number(match[1]));
    if (code !== undefined) return code;
  }
  // Google answers a key deleted from the service account with invalid_grant "Invalid JWT Signature":
  // the credential, not the grant, is what a person must replace.
  if (error === 'invalid_grant' && /invalid jwt signature/i.test(description ?? '')) {
    return 'oauth_client_invalid';
  }
  return (error !== undefined && OAUTH_ERRORS[error]) || 'oauth_token_refresh_failed';
}
