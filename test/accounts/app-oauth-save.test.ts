// App-only OAuth2 settings through the entry points' schemas (native API, SaveEMailAccount / the
// import file) and the save rules, as pure functions: what is accepted and derived (thumbprint,
// notAfter, the service account's token URI and client), what is refused with which sentence, and
// which changes need the secret again. (Against real servers: test/integration/oauth-app.test.ts.)
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AccountInputError } from '../../src/accounts/errors.js';
import type { StoredAccount } from '../../src/accounts/repository.js';
import { settleAccount } from '../../src/accounts/save-rules.js';
import {
  superOfficeName,
  toAccountDraft as fromSuperOffice,
} from '../../src/accounts/superoffice-mapping.js';
import { parseEMailAccount } from '../../src/accounts/superoffice-schema.js';
import { AccountStatus, type EmailAccount, type ServiceAuth } from '../../src/accounts/types.js';
import { toAccountDraft } from '../../src/http/api/credentials.js';
import { accountInputSchema } from '../../src/http/api/schemas.js';

const TOKEN_URL = 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token';
let keyPem: string;
let certPem: string;
let otherKeyPem: string;
let saJson: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'mailmon-app-oauth-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=app', '-days', '10',
      '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
    ], { stdio: 'ignore' }); // prettier-ignore
    keyPem = readFileSync(join(dir, 'k.pem'), 'utf8');
    certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pair = (n: number) =>
    generateKeyPairSync('rsa', { modulusLength: n })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
  otherKeyPem = pair(2048);
  saJson = JSON.stringify({
    type: 'service_account',
    client_email: 'monitor@proj.iam.gserviceaccount.com',
    private_key: pair(2048),
    token_uri: 'https://oauth2.googleapis.com/token',
  });
});

const side = (oauth: Record<string, unknown>, user = 'sales@contoso.com') => ({
  server: 'outlook.office365.com',
  port: 993,
  authType: 'oauth2',
  username: user,
  oauth,
});

function native(oauth: Record<string, unknown>) {
  return accountInputSchema.safeParse({ emailAddress: 'sales@contoso.com', incoming: side(oauth) });
}

function issuesOf(result: ReturnType<typeof native>): string[] {
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('native API schema', () => {
  it('client secret: the scope defaults, the expiry date is kept, no password needed', () => {
    const parsed = native({
      grant: 'client_credentials',
      tokenUrl: TOKEN_URL,
      clientId: 'app-1',
      clientSecret: 's3cret',
      credentialExpiresAt: '2027-06-30',
    });
    expect(issuesOf(parsed)).toEqual([]);
    const input = settleAccount(toAccountDraft(parsed.data!, 0), null);
    expect(input.incoming).toMatchObject({
      password: '',
      oauth: {
        grant: 'client_credentials',
        clientSecret: 's3cret',
        privateKey: null,
        scope: 'https://outlook.office365.com/.default',
        credentialExpiresAt: new Date('2027-06-30T00:00:00Z'),
      },
    });
  });

  it('certificate: thumbprint (x5t) and notAfter come from the certificate; the client secret becomes none', () => {
    const parsed = native({
      grant: 'client_credentials',
      tokenUrl: TOKEN_URL,
      clientId: 'app-1',
      privateKey: keyPem,
      certificate: certPem,
    });
    expect(issuesOf(parsed)).toEqual([]);
    const oauth = settleAccount(toAccountDraft(parsed.data!, 0), null).incoming?.oauth;
    expect(oauth).toMatchObject({ clientSecret: null, privateKey: keyPem });
    expect(oauth?.certThumbprint).toMatch(/^[A-Za-z0-9_-]{27}$/);
    expect(oauth?.credentialExpiresAt?.getTime()).toBeGreaterThan(Date.now() + 9 * 86_400_000);
  });

  it('a thumbprint as Azure shows it (hex) is accepted instead of the certificate', () => {
    const parsed = native({
      grant: 'client_credentials',
      tokenUrl: TOKEN_URL,
      clientId: 'app-1',
      privateKey: keyPem,
      certThumbprint: 'AB:CD:'.repeat(8) + 'ABCDABCD',
    });
    expect(issuesOf(parsed)).toEqual([]);
  });

  it('Google: the JSON key names the token endpoint and the client; the mailbox is the username', () => {
    const parsed = native({ grant: 'jwt_bearer', serviceAccountKey: saJson });
    expect(issuesOf(parsed)).toEqual([]);
    const oauth = settleAccount(toAccountDraft(parsed.data!, 0), null).incoming?.oauth;
    expect(oauth).toMatchObject({
      grant: 'jwt_bearer',
      tokenUrl: 'https://oauth2.googleapis.com/token',
      clientId: 'monitor@proj.iam.gserviceaccount.com',
      scope: 'https://mail.google.com/',
      clientSecret: null,
    });
    expect(oauth?.privateKey).toContain('BEGIN PRIVATE KEY');
  });

  it.each([
    [
      'a key that is not one',
      {
        grant: 'client_credentials',
        tokenUrl: TOKEN_URL,
        clientId: 'a',
        privateKey: 'nope',
        certificate: 'x',
      },
      [
        'incoming.oauth.privateKey: must be an unencrypted RSA private key in PEM (-----BEGIN PRIVATE KEY-----)',
        'incoming.oauth.certificate: must be a PEM certificate (-----BEGIN CERTIFICATE-----)',
      ],
    ],
    [
      'a key without its certificate',
      { grant: 'client_credentials', tokenUrl: TOKEN_URL, clientId: 'a', privateKey: 'KEY' },
      ['incoming.oauth.certificate: (or certThumbprint) is required with a new privateKey'],
    ],
    [
      'the key of another certificate',
      {
        grant: 'client_credentials',
        tokenUrl: TOKEN_URL,
        clientId: 'a',
        privateKey: 'OTHER',
        certificate: 'CERT',
      },
      ['incoming.oauth.privateKey: does not belong to certificate'],
    ],
    [
      'both a secret and a key',
      {
        grant: 'client_credentials',
        tokenUrl: TOKEN_URL,
        clientId: 'a',
        clientSecret: 's',
        privateKey: 'KEY',
        certificate: 'CERT',
      },
      ['incoming.oauth.clientSecret: and privateKey are both given: client credentials use one of them'],
    ],
    [
      'a refresh token with client credentials',
      {
        grant: 'client_credentials',
        tokenUrl: TOKEN_URL,
        clientId: 'a',
        clientSecret: 's',
        refreshToken: 'r',
      },
      ['incoming.oauth.refreshToken: is not used by grant client_credentials (no refresh token)'],
    ],
    [
      'no token URL',
      { grant: 'client_credentials', clientId: 'a', clientSecret: 's' },
      ['incoming.oauth.tokenUrl: is required'],
    ],
    [
      'a bad service account key',
      { grant: 'jwt_bearer', serviceAccountKey: '{"type":"service_account"}' },
      ['incoming.oauth.serviceAccountKey: must have a client_email (the service account address)'],
    ],
    [
      'a key on the refresh_token grant',
      { tokenUrl: TOKEN_URL, clientId: 'a', refreshToken: 'r', privateKey: 'KEY' },
      ['incoming.oauth.privateKey: is only for the app-only grants (grant client_credentials or jwt_bearer)'],
    ],
    [
      'a bad expiry date',
      {
        grant: 'client_credentials',
        tokenUrl: TOKEN_URL,
        clientId: 'a',
        clientSecret: 's',
        credentialExpiresAt: 'next year',
      },
      ['incoming.oauth.credentialExpiresAt: must be a date (2027-06-30) or an ISO 8601 time with a zone'],
    ],
  ])('refuses %s, naming the field, echoing nothing', (_name, raw, expected) => {
    const oauth = Object.fromEntries(
      Object.entries(raw).map(([k, v]) => [
        k,
        v === 'KEY' ? keyPem : v === 'OTHER' ? otherKeyPem : v === 'CERT' ? certPem : v,
      ]),
    );
    const issues = issuesOf(native(oauth));
    expect(issues).toEqual(expected);
    expect(issues.join(' ')).not.toContain('PRIVATE KEY-----\n');
  });
});

describe('SaveEMailAccount and the import file (the OAuth extension)', () => {
  const account = (oauth: Record<string, unknown>) => ({
    EMailAddress: 'sales@contoso.com',
    IncomingCredentials: {
      Server: 'outlook.office365.com',
      Port: 993,
      AuthType: 'OAuth',
      Username: 'sales@contoso.com',
      OAuth: oauth,
    },
  });

  it('takes a certificate grant and a Google key in SuperOffice spelling', () => {
    for (const oauth of [
      {
        Grant: 'client_credentials',
        TokenUrl: TOKEN_URL,
        ClientId: 'app-1',
        PrivateKey: keyPem,
        Certificate: certPem,
      },
      { Grant: 'jwt_bearer', ServiceAccountKey: JSON.parse(saJson) as unknown },
    ]) {
      const parsed = parseEMailAccount(account(oauth));
      expect(parsed.ok ? [] : parsed.issues).toEqual([]);
      if (!parsed.ok) continue;
      const input = settleAccount(fromSuperOffice(parsed.account), null);
      expect(input.incoming?.oauth?.privateKey).toContain('BEGIN PRIVATE KEY');
    }
  });

  it('refuses in its own names', () => {
    const parsed = parseEMailAccount(
      account({ Grant: 'client_credentials', TokenUrl: TOKEN_URL, ClientId: 'a', PrivateKey: keyPem }),
    );
    expect(parsed.ok ? [] : parsed.issues).toEqual([
      {
        path: 'IncomingCredentials.OAuth.Certificate',
        message: '(or CertThumbprint) is required with a new PrivateKey',
      },
    ]);
  });
});

describe('kept app-only secrets', () => {
  const stored = (oauth: ServiceAuth['oauth']): StoredAccount => ({
    account: {
      emailAccountId: 3,
      accountStatus: AccountStatus.Ok,
      incoming: {
        serviceAuthId: 9,
        server: 'outlook.office365.com',
        port: 993,
        authType: 'oauth2',
        username: 'sales@contoso.com',
        password: '',
        security: 'tls',
        acceptUnverifiedCert: false,
        caPem: null,
        oauth,
      },
      outgoing: null,
    } as EmailAccount,
    hasPassword: () => false,
  });
  const tenant = {
    grant: 'client_credentials' as const,
    tokenUrl: TOKEN_URL,
    clientId: 'app-1',
    clientSecret: '',
    refreshToken: '',
    scope: 'https://outlook.office365.com/.default',
    accessExpiresAt: null,
    privateKey: null,
    certThumbprint: null,
    credentialExpiresAt: new Date('2027-01-01T00:00:00Z'),
  };
  const update = (oauth: Record<string, unknown>, user?: string) => {
    const parsed = accountInputSchema.safeParse({
      emailAddress: 'sales@contoso.com',
      incoming: side(oauth, user),
    });
    if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues));
    return () => settleAccount(toAccountDraft(parsed.data, 3), stored(tenant));
  };
  const refusal = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      if (error instanceof AccountInputError) return `${error.field()}: ${error.problem()}`;
      throw error;
    }
    return null;
  };

  it('the same app and mailbox keep the stored secret and its expiry', () => {
    const input = update({
      grant: 'client_credentials',
      tokenUrl: TOKEN_URL,
      clientId: 'app-1',
      clientSecret: '****',
    })();
    expect(input.incoming?.oauth).toMatchObject({
      clientSecret: undefined,
      credentialExpiresAt: tenant.credentialExpiresAt,
    });
  });

  it.each([
    [
      'another tenant',
      { grant: 'client_credentials', tokenUrl: TOKEN_URL.replace('contoso', 'fabrikam'), clientId: 'app-1' },
      undefined,
      'incoming.oauth.clientSecret: is required when tokenUrl or clientId changes',
    ],
    [
      'another client id',
      { grant: 'client_credentials', tokenUrl: TOKEN_URL, clientId: 'app-2' },
      undefined,
      'incoming.oauth.clientSecret: is required when tokenUrl or clientId changes',
    ],
    [
      'another grant',
      { tokenUrl: TOKEN_URL, clientId: 'app-1', refreshToken: 'rt' },
      undefined,
      'incoming.oauth.clientSecret: is required when grant changes',
    ],
    [
      'another mailbox',
      { grant: 'client_credentials', tokenUrl: TOKEN_URL, clientId: 'app-1' },
      'ceo@contoso.com',
      'incoming.oauth.clientSecret: is required when username changes',
    ],
  ])('%s needs the secret again', (_name, oauth, user, expected) => {
    expect(refusal(update(oauth, user))).toMatch(
      new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });

  it('in SuperOffice words too', () => {
    const parsed = parseEMailAccount({
      EMailAccountId: 3,
      EMailAddress: 'sales@contoso.com',
      IncomingCredentials: {
        Server: 'outlook.office365.com',
        Port: 993,
        AuthType: 'OAuth',
        Username: 'sales@contoso.com',
        OAuth: { Grant: 'client_credentials', TokenUrl: TOKEN_URL, ClientId: 'app-2', ClientSecret: '****' },
      },
    });
    if (!parsed.ok) throw new Error('unexpected');
    try {
      settleAccount(fromSuperOffice(parsed.account), stored(tenant));
      expect.unreachable();
    } catch (error) {
      expect((error as AccountInputError).field(superOfficeName)).toBe(
        'IncomingCredentials.OAuth.ClientSecret',
      );
    }
  });
});
