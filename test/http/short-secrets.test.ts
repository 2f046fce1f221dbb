// A one-letter password must not garble the reasons the API answers with (it turned "egress
// policy" into "egress ****olicy" on TestSmtpServer), and is still never echoed where it stands
// whole. The targets are refused by the egress policy: nothing connects anywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN, startApi, type ApiServer } from './helpers.js';

const REASON = 'egress denied: 127.0.0.1 is loopback (add it to egress.allowCidrs to allow)';
const reason = (protocol: 'SMTP' | 'IMAP', port: number) =>
  `${protocol} connection denied by egress policy: ${REASON} (127.0.0.1:${port})`;

describe('short passwords in answers', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApi({ tokens: [TOKEN, 'Tje0'], overrides: { 'egress.allowCidrs': [] } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it.each(['p', 'o', 'e', 'lo'])(
    'TestSmtpServer with the password %j keeps the reason intact',
    async (pw) => {
      const res = await api.request('POST', '/api/v1/Agents/CustomerService/TestSmtpServer', {
        token: null,
        headers: { Authorization: 'Basic dGplMDpUamUw', Accept: 'application/json' },
        body: { SmtpUri: `smtp://u:${pw}@127.0.0.1:587`, UseStoredPassword: false },
      });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ Success: false, ErrorMessage: reason('SMTP', 587) });
    },
  );

  it('the native ad-hoc test with a one-letter password keeps the reason intact', async () => {
    const res = await api.request('POST', '/api/v1/test', {
      body: { outgoing: { server: '127.0.0.1', port: 587, username: 'u', password: 'p' } },
    });
    expect(res.status).toBe(200);
    expect(res.json.sides[0]).toMatchObject({ code: 'egress_denied', reason: reason('SMTP', 587) });
  });

  it('the dealer batch with one-letter passwords keeps the reason intact', async () => {
    const res = await api.request(
      'POST',
      '/dealers/6f1c2a4e-0b1d-4c3e-9f5a-2b7d8e9c0a1b/email-credentials/test',
      {
        body: {
          emailCredentialsRequests: [
            {
              imapHost: '127.0.0.1',
              imapPort: '993',
              imapUserID: 'u',
              imapPassword: 'o',
              smtpHost: '127.0.0.1',
              smtpPort: '587',
              smtpUserID: 'u',
              smtpPassword: 'e',
            },
          ],
        },
      },
    );
    expect(res.status).toBe(200);
    const [entry] = res.json.emailCredentialsResponses;
    expect(entry.errors.map((e: { errorDescription: string }) => e.errorDescription)).toEqual([
      reason('SMTP', 587),
      reason('IMAP', 993),
    ]);
    expect(entry.error).toBe(`${reason('SMTP', 587)}; ${reason('IMAP', 993)}`);
  });
});
