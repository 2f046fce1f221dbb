// A token endpoint's refusal → the failure code a person acts on (pure mapping; the same answers
// from a real HTTPS endpoint through a real check: test/integration/oauth-app.test.ts).
import { describe, expect, it } from 'vitest';
import { tokenRefusalCode } from '../../src/probes/token-errors.js';

describe('tokenRefusalCode', () => {
  it.each([
    [
      400,
      'invalid_grant',
      'AADSTS65001: The user or administrator has not consented',
      'oauth_consent_missing',
    ],
    [
      400,
      'invalid_client',
      'AADSTS700016: Application with identifier ... was not found in the directory',
      'oauth_consent_missing',
    ],
    [400, 'invalid_request', 'AADSTS50105: not assigned to a role', 'oauth_consent_missing'],
    [401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.', 'oauth_client_invalid'],
    [
      401,
      'invalid_client',
      'AADSTS7000222: The provided client secret keys are expired.',
      'oauth_client_invalid',
    ],
    [
      401,
      'invalid_client',
      'AADSTS700027: Client assertion failed signature validation.',
      'oauth_client_invalid',
    ],
    [
      400,
      'invalid_grant',
      'AADSTS700082: The refresh token has expired due to inactivity.',
      'oauth_grant_invalid',
    ],
    [400, 'invalid_grant', 'Token has been expired or revoked.', 'oauth_grant_invalid'],
    [400, 'invalid_grant', 'Invalid JWT Signature.', 'oauth_client_invalid'],
    [
      401,
      'unauthorized_client',
      'Client is unauthorized to retrieve access tokens using this method',
      'oauth_consent_missing',
    ],
    [401, 'invalid_client', undefined, 'oauth_client_invalid'],
    [400, 'invalid_scope', undefined, 'oauth_token_refresh_failed'],
    [404, undefined, undefined, 'oauth_token_refresh_failed'],
    [429, undefined, undefined, 'oauth_endpoint_unreachable'],
    [503, 'temporarily_unavailable', undefined, 'oauth_endpoint_unreachable'],
    [500, 'invalid_client', 'AADSTS7000215', 'oauth_endpoint_unreachable'],
  ] as const)('HTTP %i %s "%s" → %s', (status, error, description, code) => {
    expect(tokenRefusalCode(status, error, description)).toBe(code);
  });
});
