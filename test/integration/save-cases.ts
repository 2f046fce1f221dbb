// The table of save cases that every entry point must answer alike (save-paths.test.ts): each case
// is a seed account, a request written once in a neutral form, and either the stored result or the
// refused field. The renderers below turn a request into each entry point's own shape.
import { xmlEscape } from '../http/compat/soap-envelopes.js';

export const MASK = '****';

export interface OAuthSpec {
  tokenUrl: string;
  clientId: string;
  /** MASK keeps the stored one; null = none (a public client). */
  clientSecret: string | null;
  /** MASK keeps the stored one. */
  refreshToken: string;
  scope: string;
}

export interface SideSpec {
  server: string;
  port: number;
  username: string;
  /** MASK keeps the stored one. */
  password: string;
  security: 'tls' | 'starttls' | 'none';
  authType: 'password' | 'login' | 'oauth2';
  /** Absent: left out of the request. */
  acceptUnverifiedCert?: boolean;
  /** Absent: left out of the request; null removes. */
  caPem?: string | null;
  /** Absent: left out of the request (keeps); null removes. */
  oauth?: OAuthSpec | null;
}

export interface AccountSpec {
  incoming: SideSpec | null;
  outgoing: SideSpec | null;
}

/** What a side looks like in storage (clear text, read with secrets). */
export interface StoredSide {
  server: string;
  port: number;
  username: string;
  password: string;
  security: string;
  authType: string;
  acceptUnverifiedCert: boolean;
  caPem: string | null;
  oauth: {
    tokenUrl: string;
    clientId: string;
    clientSecret: string | null;
    refreshToken: string;
    scope: string | null;
  } | null;
}

export interface StoredState {
  emailAddress: string;
  incoming: StoredSide | null;
  outgoing: StoredSide | null;
}

export interface SaveCase {
  name: string;
  /** Default: the standard seed. */
  seed?: AccountSpec;
  /** Mark the seeded account Deleted before the request. */
  deleted?: boolean;
  /** Send the request for an id that does not exist. */
  unknownId?: boolean;
  request: (seed: AccountSpec) => AccountSpec;
  /** The stored result (from the stored seed) or the refusal: a neutral field path, or 404/409. */
  expect: { stored: (seed: StoredState) => StoredState } | { refused: string | 404 | 409 };
}

export const ADDRESS = 'save-case@example.test';
const TOKEN_URL = 'https://login.example.test/tenant/token';

/** Distinct secrets so a test can tell them apart (and look for them where they must not be). */
export const SECRETS = {
  imap: 'Seed-Imap-Pw-5c1e',
  clientSecret: 'Seed-Client-Secret-8a2f',
  refresh: 'Seed-Refresh-Token-3d9b',
  newPassword: 'New-Password-71d0',
  newRefresh: 'New-Refresh-Token-e44c',
  access: 'Given-Access-Token-9b3a',
};

/** The standard seed: an IMAP side with its own trust settings, an OAuth SMTP side with no access token yet. */
export function standardSeed(caPem: string): AccountSpec {
  return {
    incoming: {
      server: 'imap.example.test',
      port: 993,
      username: 'alice',
      password: SECRETS.imap,
      security: 'tls',
      authType: 'password',
      acceptUnverifiedCert: true,
      caPem,
    },
    outgoing: {
      server: 'smtp.example.test',
      port: 587,
      username: 'alice',
      password: MASK,
      security: 'starttls',
      authType: 'oauth2',
      oauth: {
        tokenUrl: TOKEN_URL,
        clientId: 'client-1',
        clientSecret: SECRETS.clientSecret,
        refreshToken: SECRETS.refresh,
        scope: 'smtp',
      },
    },
  };
}

/** A request that sends everything back masked, trust fields left out (as SuperOffice's shape has none). */
function roundTrip(seed: AccountSpec): AccountSpec {
  const side = (s: SideSpec | null): SideSpec | null => {
    if (s === null) return null;
    const { acceptUnverifiedCert: _a, caPem: _c, ...rest } = s;
    return {
      ...rest,
      password: MASK,
      ...(s.oauth ? { oauth: { ...s.oauth, clientSecret: MASK, refreshToken: MASK } } : {}),
    };
  };
  return { incoming: side(seed.incoming), outgoing: side(seed.outgoing) };
}

const withIncoming = (change: Partial<SideSpec>) => (seed: AccountSpec) => {
  const request = roundTrip(seed);
  return { ...request, incoming: { ...request.incoming!, ...change } };
};
const withOutgoing = (change: Partial<SideSpec>) => (seed: AccountSpec) => {
  const request = roundTrip(seed);
  return { ...request, outgoing: { ...request.outgoing!, ...change } };
};
const withOAuth =
  (change: Partial<OAuthSpec>, side: Partial<SideSpec> = {}) =>
  (seed: AccountSpec) => {
    const request = roundTrip(seed);
    const outgoing = request.outgoing!;
    return { ...request, outgoing: { ...outgoing, ...side, oauth: { ...outgoing.oauth!, ...change } } };
  };

const changedIncoming = (change: Partial<StoredSide>) => (seed: StoredState) => ({
  ...seed,
  incoming: { ...seed.incoming!, ...change },
});
const changedOutgoing = (change: Partial<StoredSide>) => (seed: StoredState) => ({
  ...seed,
  outgoing: { ...seed.outgoing!, ...change },
});

export function saveCases(otherCaPem: string): SaveCase[] {
  return [
    {
      name: 'everything sent back masked keeps everything',
      request: roundTrip,
      expect: { stored: (s) => s },
    },
    // A kept password stays with the server, port, user and TLS it was given for.
    ...(
      [
        ['server', { server: 'elsewhere.example.test' }],
        ['port', { port: 143, security: 'starttls' }],
        ['user', { username: 'mallory' }],
        ['TLS', { security: 'none' }],
        ['trust', { acceptUnverifiedCert: true, caPem: otherCaPem }],
      ] as const
    ).map(([what, change]) => ({
      name: `kept password with a moved ${what} is refused`,
      request: withIncoming(change),
      expect: { refused: 'incoming.password' },
    })),
    {
      name: 'a moved server with the password given stores it, without the old server’s trust',
      request: withIncoming({ server: 'moved.example.test', password: SECRETS.newPassword }),
      expect: {
        stored: changedIncoming({
          server: 'moved.example.test',
          password: SECRETS.newPassword,
          acceptUnverifiedCert: false,
          caPem: null,
        }),
      },
    },
    {
      name: 'a mechanism change with the kept password is refused',
      request: withIncoming({ authType: 'login' }),
      expect: { refused: 'incoming.password' },
    },
    {
      name: 'a mechanism change with the password given is stored',
      request: withIncoming({ authType: 'login', password: SECRETS.newPassword }),
      expect: { stored: changedIncoming({ authType: 'login', password: SECRETS.newPassword }) },
    },
    {
      name: 'trust fields set to false and null reset them',
      request: withIncoming({ acceptUnverifiedCert: false, caPem: null }),
      expect: { stored: changedIncoming({ acceptUnverifiedCert: false, caPem: null }) },
    },
    {
      name: 'a kept refresh token with a moved server is refused, even with a new access token',
      request: withOutgoing({ server: 'elsewhere.example.test', password: SECRETS.access }),
      expect: { refused: 'outgoing.oauth.refreshToken' },
    },
    {
      name: 'a kept refresh token with a moved token URL is refused',
      request: withOAuth({ tokenUrl: 'https://evil.example.test/token' }),
      expect: { refused: 'outgoing.oauth.refreshToken' },
    },
    {
      name: 'a kept client secret with another client id is refused',
      request: withOAuth({ clientId: 'client-2', refreshToken: SECRETS.newRefresh }),
      expect: { refused: 'outgoing.oauth.clientSecret' },
    },
    {
      name: 'a refresh token moved with a new grant is stored',
      request: withOAuth({
        tokenUrl: `${TOKEN_URL}/v2`,
        clientSecret: null,
        refreshToken: SECRETS.newRefresh,
      }),
      expect: {
        stored: changedOutgoing({
          oauth: {
            tokenUrl: `${TOKEN_URL}/v2`,
            clientId: 'client-1',
            clientSecret: null,
            refreshToken: SECRETS.newRefresh,
            scope: 'smtp',
          },
        }),
      },
    },
    {
      name: 'removing OAuth from a side with no access token is refused: it could never log in',
      request: withOutgoing({ oauth: null }),
      expect: { refused: 'outgoing.password' },
    },
    {
      name: 'removing OAuth with an access token given keeps the token alone',
      request: withOutgoing({ oauth: null, password: SECRETS.access }),
      expect: { stored: changedOutgoing({ oauth: null, password: SECRETS.access }) },
    },
    {
      name: 'a null side removes it',
      request: (seed) => ({ ...roundTrip(seed), outgoing: null }),
      expect: { stored: (s) => ({ ...s, outgoing: null }) },
    },
    {
      name: 'a side added with the mask has no password to keep',
      seed: { ...standardSeed(otherCaPem), outgoing: null },
      request: (seed) => {
        const { oauth: _none, ...smtp } = standardSeed(otherCaPem).outgoing!;
        return { ...roundTrip(seed), outgoing: { ...smtp, authType: 'password', password: MASK } };
      },
      expect: { refused: 'outgoing.password' },
    },
    { name: 'a Deleted account is not updated', deleted: true, request: roundTrip, expect: { refused: 409 } },
    { name: 'an unknown id is not created', unknownId: true, request: roundTrip, expect: { refused: 404 } },
  ];
}

// ---- the request in each entry point's shape ----

export function nativeBody(spec: AccountSpec): Record<string, unknown> {
  return { emailAddress: ADDRESS, incoming: spec.incoming, outgoing: spec.outgoing };
}

function superOfficeSide(side: SideSpec | null): Record<string, unknown> | null {
  if (side === null) return null;
  const { oauth } = side;
  return {
    Server: side.server,
    Port: side.port,
    Username: side.username,
    Password: side.password,
    Security: side.security,
    AuthType: side.authType === 'oauth2' ? 'OAuth' : side.authType === 'password' ? '' : side.authType,
    ...(side.acceptUnverifiedCert === undefined ? {} : { AcceptUnverifiedCert: side.acceptUnverifiedCert }),
    ...(side.caPem === undefined ? {} : { CaPem: side.caPem }),
    ...(oauth === undefined
      ? {}
      : {
          OAuth:
            oauth === null
              ? null
              : {
                  TokenUrl: oauth.tokenUrl,
                  ClientId: oauth.clientId,
                  ClientSecret: oauth.clientSecret ?? '',
                  RefreshToken: oauth.refreshToken,
                  Scope: oauth.scope,
                },
        }),
  };
}

/** SuperOffice EMailAccount JSON: what SaveEMailAccount REST takes and what an import file holds. */
export function superOfficeAccount(id: number, spec: AccountSpec): Record<string, unknown> {
  return {
    EMailAccountId: id,
    EMailAddress: ADDRESS,
    IncomingCredentials: superOfficeSide(spec.incoming),
    OutgoingCredentials: superOfficeSide(spec.outgoing),
  };
}

function xmlElements(value: Record<string, unknown>, indent: string): string {
  return Object.entries(value)
    .map(([name, v]) => {
      if (v === null) return `${indent}<EMail:${name} xsi:nil="true"/>`;
      if (typeof v === 'object')
        return `${indent}<EMail:${name}>\n${xmlElements(v as Record<string, unknown>, `${indent} `)}\n${indent}</EMail:${name}>`;
      return `${indent}<EMail:${name}>${xmlEscape(String(v))}</EMail:${name}>`;
    })
    .join('\n');
}

/** The same EMailAccount as a SaveEMailAccount SOAP 1.2 envelope (Services87). */
export function soapEnvelope(id: number, spec: AccountSpec): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:EMail="http://www.superoffice.net/ws/crm/NetServer/Services87">
 <SOAP-ENV:Body>
  <EMail:SaveEMailAccount>
   <EMail:EMailAccount>
${xmlElements(superOfficeAccount(id, spec), '    ')}
   </EMail:EMailAccount>
  </EMail:SaveEMailAccount>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
`;
}

const SUPEROFFICE_PATH: Record<string, string> = {
  incoming: 'IncomingCredentials',
  outgoing: 'OutgoingCredentials',
  password: 'Password',
  oauth: 'OAuth',
  refreshToken: 'RefreshToken',
  clientSecret: 'ClientSecret',
};

/** A neutral field path in SuperOffice's names, as SaveEMailAccount and the import report it. */
export function superOfficePath(path: string): string {
  return path
    .split('.')
    .map((part) => SUPEROFFICE_PATH[part] ?? part)
    .join('.');
}
