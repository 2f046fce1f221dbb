// The vendor-compatible endpoints as the daemon serves them: real CompatDeps over the core (checker,
// egress policy, repository), the vendors' sample requests pointed at local servers, their own
// authentication (Basic from SuperOffice's sample, the SOAP Ticket), and no password in any response.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { saveEMailAccountEnvelope, SAMPLE_TICKET, testSmtpEnvelope } from './compat/soap-envelopes.js';
import { TOKEN, expectNoSecrets, startApi, type ApiServer } from './helpers.js';

const PASS = 'Compat-Canary:pw/odd@%-6b1e';
const WRONG = 'Compat-Wrong-Canary-0d4a';
const enc = encodeURIComponent;

/** SuperOffice's REST sample authenticates as Basic tje0:Tje0; its SOAP samples carry SAMPLE_TICKET. */
const SAMPLE_BASIC_PASSWORD = 'Tje0';
const SAMPLE_REST_HEADERS = {
  Authorization: 'Basic dGplMDpUamUw',
  Accept: 'application/json; charset=utf-8',
  'Accept-Language': 'sv',
};

/** SuperOffice's TestSmtpServer sample from sales@example.test, with a Ticket. */
const soapTestSmtp = (smtpUri: string, ticket = SAMPLE_TICKET) =>
  testSmtpEnvelope(smtpUri, 'sales@example.test', 'false', ticket);

/** SuperOffice's SaveEMailAccount sample: a new account with only an outgoing side. */
const soapSaveAccount = (smtpPort: number, password: string) =>
  saveEMailAccountEnvelope('0', 'soap@example.test', null, {
    server: '127.0.0.1',
    port: String(smtpPort),
    authType: 'plain-text',
    username: 'soapuser',
    password,
  });

const SOAP = 'application/soap+xml; charset=utf-8';

describeWithPeer('dovecot', 'compatible endpoints served by the daemon', () => {
  let api: ApiServer;
  let smtp: TestSmtpServer;
  let smtps: TestSmtpServer;
  let dovecot: Dovecot;

  beforeAll(async () => {
    const users = [{ user: 'sales@example.test', pass: PASS }];
    [smtp, smtps, dovecot] = await Promise.all([
      startSmtpServer({ users }),
      startSmtpServer({ users, secure: true }),
      startDovecot({ users: [{ user: 'dealer', pass: PASS }] }),
    ]);
    // The vendors' shapes carry no CA: the daemon trusts the test CA through tls.extraCaFile.
    api = await startApi({ extraCaPem: smtp.caPem, tokens: [TOKEN, SAMPLE_BASIC_PASSWORD, SAMPLE_TICKET] });
  });
  afterAll(async () => {
    expectNoSecrets(api?.bodies ?? [], [PASS, WRONG]);
    expectNoSecrets([api?.logs.text ?? ''], [PASS, WRONG]);
    await Promise.all([api?.close(), smtp?.stop(), smtps?.stop(), dovecot?.stop()]);
  });

  const uri = (scheme: 'smtp' | 'smtps', port: number, password: string) =>
    `${scheme}://${enc('sales@example.test')}:${enc(password)}@127.0.0.1:${port}`;
  const rest = (path: string, body: unknown) =>
    api.request('POST', path, { body, token: null, headers: SAMPLE_REST_HEADERS });

  it('SuperOffice REST TestSmtpServer (the sample request): STARTTLS and implicit TLS, right and wrong password', async () => {
    const path = '/api/v1/Agents/CustomerService/TestSmtpServer';
    const ok = await rest(path, {
      SmtpUri: uri('smtp', smtp.port, PASS),
      From: 'sales@example.test',
      UseStoredPassword: false,
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toMatchObject({ Success: true, ErrorMessage: '' });
    const tls = await rest(path, {
      SmtpUri: uri('smtps', smtps.port, PASS),
      From: '',
      UseStoredPassword: false,
    });
    expect(tls.json).toMatchObject({ Success: true });
    const bad = await rest(path, {
      SmtpUri: uri('smtp', smtp.port, WRONG),
      From: '',
      UseStoredPassword: false,
    });
    expect(bad.json.Success).toBe(false);
    expect(bad.json.ErrorMessage).toMatch(/auth|535/i);
    expect(smtp.authAttempts.map((a) => a.ok)).toEqual([true, false]);
  });

  it('SuperOffice REST SaveEMailAccount stores the account (masked); UseStoredPassword then uses it', async () => {
    const saved = await rest('/api/v1/Agents/EMail/SaveEMailAccount', {
      EMailAccountId: 0,
      EMailAddress: 'sales@example.test',
      AssociateId: 5,
      IncomingCredentials: null,
      OutgoingCredentials: {
        Server: '127.0.0.1',
        Port: smtp.port,
        AuthType: 'plain-text',
        Username: 'sales@example.test',
        Password: PASS,
      },
    });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.json).toMatchObject({
      EMailAddress: 'sales@example.test',
      OutgoingCredentials: { Password: '****' },
    });
    const id = saved.json.EMailAccountId as number;
    expect((await api.core.repo.getAccountWithSecrets(id))?.outgoing?.password).toBe(PASS);
    // The native API sees the same account.
    expect((await api.request('GET', `/api/v1/accounts/${id}`)).json.outgoing.password).toBe('****');

    const stored = await rest('/api/v1/Agents/CustomerService/TestSmtpServer', {
      SmtpUri: `smtp://${enc('sales@example.test')}@127.0.0.1:${smtp.port}`,
      From: '',
      UseStoredPassword: true,
    });
    expect(stored.json).toMatchObject({ Success: true });

    // Update with the mask keeps the password but may not send it to another server.
    const moved = await rest('/api/v1/Agents/EMail/SaveEMailAccount', {
      ...saved.json,
      OutgoingCredentials: { ...saved.json.OutgoingCredentials, Server: 'elsewhere.example.test' },
    });
    expect(moved.status).toBe(400);
    expect(moved.text).toMatch(/OutgoingCredentials\.Password/);
    expect((await api.core.repo.getAccount(id))?.outgoing?.server).toBe('127.0.0.1');
  });

  it('SaveEMailAccount keeps a stored OAuth refresh token only for the server it was given for', async () => {
    const refreshToken = 'Compat-Refresh-Canary-5e2b';
    const saved = await rest('/api/v1/Agents/EMail/SaveEMailAccount', {
      EMailAccountId: 0,
      EMailAddress: 'm365@example.test',
      IncomingCredentials: {
        Server: '127.0.0.1',
        Port: dovecot.imapsPort,
        AuthType: 'OAuth',
        Username: 'm365@example.test',
        Password: '',
        OAuth: { TokenUrl: 'http://127.0.0.1:9/token', ClientId: 'mailmon', RefreshToken: refreshToken },
      },
    });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.text).not.toContain(refreshToken);
    const id = saved.json.EMailAccountId as number;
    const incoming = saved.json.IncomingCredentials as Record<string, unknown>;

    // Moving the side elsewhere while the refresh token stays would have mailmon mint access tokens
    // for that server; a new password does not make it safe, and leaving OAuth out keeps the token.
    for (const change of [
      { Server: 'elsewhere.example.test', Password: '****' },
      { Server: 'elsewhere.example.test', Password: 'a-new-access-token' },
      { Port: dovecot.imapPort, Security: 'none' },
    ]) {
      const { OAuth: _kept, ...withoutOAuth } = incoming;
      const moved = await rest('/api/v1/Agents/EMail/SaveEMailAccount', {
        ...saved.json,
        IncomingCredentials: { ...withoutOAuth, ...change },
      });
      expect(moved.status, JSON.stringify(change)).toBe(400);
      expect(moved.text).toMatch(/IncomingCredentials\.OAuth\.RefreshToken/);
    }
    const stored = await api.core.repo.getAccountWithSecrets(id);
    expect(stored?.incoming).toMatchObject({ server: '127.0.0.1', port: dovecot.imapsPort });
    expect(stored?.incoming?.oauth?.refreshToken).toBe(refreshToken);

    // With a new refresh token the move is the user's own grant: accepted.
    const regranted = await rest('/api/v1/Agents/EMail/SaveEMailAccount', {
      ...saved.json,
      IncomingCredentials: {
        ...incoming,
        Server: 'localhost',
        OAuth: {
          TokenUrl: 'http://127.0.0.1:9/token',
          ClientId: 'mailmon',
          RefreshToken: `${refreshToken}-2`,
        },
      },
    });
    expect(regranted.status, regranted.text).toBe(200);
    expect((await api.core.repo.getAccount(id))?.incoming?.server).toBe('localhost');
  });

  it('SaveEMailAccount updates keep what SuperOffice cannot express (CA, acceptUnverifiedCert)', async () => {
    const native = await api.request('POST', '/api/v1/accounts', {
      body: {
        emailAddress: 'trust@example.test',
        outgoing: {
          server: '127.0.0.1',
          port: smtp.port,
          username: 'sales@example.test',
          password: PASS,
          caPem: smtp.caPem,
          acceptUnverifiedCert: true,
        },
      },
    });
    const id = native.json.id as number;
    const updated = await rest('/api/v1/Agents/EMail/SaveEMailAccount', {
      EMailAccountId: id,
      EMailAddress: 'trust2@example.test',
      OutgoingCredentials: {
        Server: '127.0.0.1',
        Port: smtp.port,
        Username: 'sales@example.test',
        Password: '****',
      },
    });
    expect(updated.status, updated.text).toBe(200);
    const stored = await api.core.repo.getAccountWithSecrets(id);
    expect(stored).toMatchObject({ emailAddress: 'trust2@example.test' });
    expect(stored?.outgoing).toMatchObject({ caPem: smtp.caPem, acceptUnverifiedCert: true, password: PASS });

    await api.request('DELETE', `/api/v1/accounts/${id}`);
    const deleted = await rest('/api/v1/Agents/EMail/SaveEMailAccount', {
      ...updated.json,
      EMailAddress: 'x@example.test',
    });
    expect(deleted.status).toBe(409);
    const unknown = await rest('/api/v1/Agents/EMail/SaveEMailAccount', {
      ...updated.json,
      EMailAccountId: 987654,
    });
    expect(unknown.status).toBe(404);
  });

  it('SuperOffice SOAP TestSmtpServer and SaveEMailAccount (the sample envelopes, Ticket as token)', async () => {
    const test = await api.request('POST', '/Remote/Services88/CustomerService.svc', {
      raw: soapTestSmtp(uri('smtp', smtp.port, PASS)),
      contentType: SOAP,
      token: null,
    });
    expect(test.status, test.text).toBe(200);
    expect(test.headers.get('content-type')).toMatch(/application\/soap\+xml/);
    expect(test.text).toMatch(
      /<CustomerService:Success xsi:type="xsd:boolean">true<\/CustomerService:Success>/,
    );

    const save = await api.request('POST', '/Remote/Services87/EMail.svc', {
      raw: soapSaveAccount(smtp.port, PASS),
      contentType: SOAP,
      token: null,
    });
    expect(save.status, save.text).toBe(200);
    expect(save.text).toMatch(/<EMail:Password xsi:type="xsd:string">\*\*\*\*<\/EMail:Password>/);
    const id = Number(/<EMail:EMailAccountId[^>]*>(\d+)</.exec(save.text)?.[1]);
    expect((await api.core.repo.getAccountWithSecrets(id))?.outgoing).toMatchObject({
      username: 'soapuser',
      password: PASS,
    });
  });

  it('SOAP without a valid Ticket (and no Authorization) gets a 401 SOAP Fault and runs nothing', async () => {
    const before = smtp.authAttempts.length;
    for (const ticket of ['7T:wrong', '']) {
      const res = await api.request('POST', '/Remote/Services88/CustomerService.svc', {
        raw: soapTestSmtp(uri('smtp', smtp.port, PASS), ticket),
        contentType: SOAP,
        token: null,
      });
      expect(res.status).toBe(401);
      expect(res.text).toMatch(/<[\w-]+:Fault>/);
      expect(res.text).toMatch(/authentication required/);
    }
    // A blank Authorization header is no header: the Ticket still counts.
    const blank = await api.request('POST', '/Remote/Services88/CustomerService.svc', {
      raw: soapTestSmtp(uri('smtp', smtp.port, PASS)),
      contentType: SOAP,
      token: null,
      headers: { Authorization: '' },
    });
    expect(blank.status, blank.text).toBe(200);
    // An envelope built to be expensive is refused at once, before authentication, as a SOAP fault.
    let declarations = '';
    for (let i = 0; i < 8000; i++) declarations += ` xmlns:a${i}="urn:a${i}"`;
    const expensive = await api.request('POST', '/Remote/Services88/CustomerService.svc', {
      raw: `<r${declarations}>${'<c/>'.repeat(30_000)}</r>`,
      contentType: SOAP,
      token: null,
    });
    expect(expensive.status).toBeGreaterThanOrEqual(400);
    expect(expensive.status).toBeLessThan(500);
    expect(expensive.text).toMatch(/<[\w-]+:Fault>/);
    // A Bearer token works for SOAP clients that can send one.
    const bearer = await api.request('POST', '/Remote/Services88/CustomerService.svc', {
      raw: soapTestSmtp(uri('smtp', smtp.port, PASS), ''),
      contentType: SOAP,
    });
    expect(bearer.status).toBe(200);
    expect(smtp.authAttempts.length - before).toBe(2);
  });

  it('Oracle Commerce testSmtpConnection (the sample, with credentials, pointed at the local server)', async () => {
    const sample = {
      emailSMTPPort: String(smtp.port),
      emailSMTPHost: '127.0.0.1',
      emailSMTPAuthMethod: 'TLS',
      emailSMTPPassword: PASS,
      emailSMTPUsername: 'sales@example.test',
    };
    const ok = await api.request('POST', '/ccadmin/v1/email/test', { body: sample });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toEqual({ status: true });
    const ssl = await api.request('POST', '/ccadmin/v1/email/test', {
      body: { ...sample, emailSMTPPort: String(smtps.port), emailSMTPAuthMethod: 'SSL' },
    });
    expect(ssl.json).toEqual({ status: true });
    const bad = await api.request('POST', '/ccadmin/v1/email/test', {
      body: { ...sample, emailSMTPPassword: WRONG },
    });
    expect(bad.json).toEqual({ status: false });
    const invalid = await api.request('POST', '/ccadmin/v1/email/test', {
      body: { ...sample, emailSMTPPort: '70000' },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ status: '400', message: expect.stringMatching(/emailSMTPPort/) });
    const anonymous = await api.request('POST', '/ccadmin/v1/email/test', { body: sample, token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toMatchObject({ status: '401' });
  });

  // CompatDeps' contract: an empty user name means "connect and secure the connection, no AUTH".
  it('Oracle Commerce: the documented sample verbatim (no user name) tests the connection without AUTH', async () => {
    const relay = await startSmtpServer({ users: [], authOptional: true });
    try {
      const res = await api.request('POST', '/ccadmin/v1/email/test', {
        body: {
          emailSMTPPort: String(relay.port),
          emailSMTPHost: '127.0.0.1',
          emailSMTPAuthMethod: 'TLS',
          emailSMTPPassword: '',
          emailSMTPUsername: '',
        },
      });
      expect(relay.authAttempts).toEqual([]);
      expect(res.json).toEqual({ status: true });
    } finally {
      await relay.stop();
    }
  });

  it('dealer API email-credentials/test (the sample shape, Basic auth): IMAP and SMTP, passwords masked', async () => {
    const entry = {
      imapUserID: 'dealer',
      imapHost: '127.0.0.1',
      imapPort: String(dovecot.imapsPort),
      smtpUserID: 'sales@example.test',
      smtpPassword: PASS,
      smtpHost: '127.0.0.1',
      smtpPort: String(smtp.port),
      smtpEnableStartTLS: 'true',
      smtpUseAuth: 'true',
      imapUseSSLOrTLS: 'true',
      imapEnableStartTLS: 'false',
      smtpUseSSLOrTLS: 'false',
      dealerEmail: 'dealer@example.test',
      accountType: 'string',
      password: PASS,
      orgName: 'Example Motors',
      credentialsType: 'string',
      imapPassword: PASS,
    };
    const basic = `Basic ${Buffer.from(`dealer-app:${TOKEN}`).toString('base64')}`;
    const res = await api.request(
      'POST',
      '/dealers/6d3f8a52-1c1b-4c55-9f0e-2b7a1e4c9d10/email-credentials/test',
      {
        body: { emailCredentialsRequests: [entry, { ...entry, imapPassword: WRONG }] },
        token: null,
        headers: { authorization: basic, accept: 'application/json' },
      },
    );
    expect(res.status, res.text).toBe(200);
    const [good, bad] = res.json.emailCredentialsResponses;
    expect(good).toMatchObject({ outcome: 'SUCCESS', smtppassword: '****', imappassword: '****' });
    expect(good.serverLogs).toMatch(/IMAP/);
    expect(bad.outcome).toBe('FAILURE');
    const anonymous = await api.request('POST', '/dealers/x/email-credentials/test', {
      body: { emailCredentialsRequests: [entry] },
      token: null,
    });
    expect(anonymous.status).toBe(401);
  });
});
