// Credential health metrics (issue 11): token endpoint answers by a closed set of results, and one
// expiry series per app credential, kept while some account side still uses it.
import { describe, expect, it } from 'vitest';
import { find, parseExposition, value } from './exposition.js';
import { newMetrics } from './fixtures.js';

const APP = { tokenUrl: 'https://login.microsoftonline.com/t1/oauth2/v2.0/token', clientId: 'app-1' };
const EXPIRY = 'mailmon_oauth_credential_expiry_timestamp_seconds';
const REQUESTS = 'mailmon_oauth_token_requests_total';

describe('OAuth2 credential metrics', () => {
  it('counts token requests by grant and a bounded result; every series exists from the start', async () => {
    const metrics = newMetrics();
    const before = parseExposition(await metrics.metricsText());
    expect(find(before, REQUESTS)).toHaveLength(3 * 7);
    metrics.oauth.tokenRequest('client_credentials', 'ok');
    metrics.oauth.tokenRequest('client_credentials', 'oauth_client_invalid');
    metrics.oauth.tokenRequest('jwt_bearer', 'oauth_consent_missing');
    metrics.oauth.tokenRequest('refresh_token', 'oauth_endpoint_unreachable');
    metrics.oauth.tokenRequest('refresh_token', 'internal_error');
    metrics.oauth.tokenRequest('made-up', 'ok');
    metrics.oauth.tokenRequest('client_credentials', 'egress_denied'); // never sent: not counted
    const after = parseExposition(await metrics.metricsText());
    expect(find(after, REQUESTS)).toHaveLength(3 * 7);
    expect(value(after, REQUESTS, { grant: 'client_credentials', result: 'ok' })).toBe(1);
    expect(value(after, REQUESTS, { grant: 'client_credentials', result: 'client_invalid' })).toBe(1);
    expect(value(after, REQUESTS, { grant: 'jwt_bearer', result: 'consent_missing' })).toBe(1);
    expect(value(after, REQUESTS, { grant: 'refresh_token', result: 'unreachable' })).toBe(1);
    expect(value(after, REQUESTS, { grant: 'refresh_token', result: 'other' })).toBe(1);
    expect(value(after, REQUESTS, { grant: 'refresh_token', result: 'ok' })).toBe(1);
  });

  it('one expiry series per credential, however many sides use it, gone with the last one', async () => {
    const metrics = newMetrics();
    const at = new Date('2027-06-30T00:00:00Z');
    for (const id of [1, 2, 3]) metrics.oauth.recordCredential(id, 'imap', APP, at);
    metrics.oauth.recordCredential(3, 'smtp', APP, at);
    const scrape = async () => find(parseExposition(await metrics.metricsText()), EXPIRY);
    expect(await scrape()).toEqual([
      expect.objectContaining({
        labels: { token_host: 'login.microsoftonline.com', client_id: 'app-1' },
        value: at.getTime() / 1000,
      }),
    ]);
    metrics.removeAccount(1);
    metrics.oauth.recordCredential(2, 'imap', null, null); // moved to a password
    metrics.retainSides(3, ['imap']);
    expect(await scrape()).toHaveLength(1);
    metrics.retainAccounts([2]);
    expect(await scrape()).toEqual([]);
  });
});
