// SuperOffice's EMailAccount carrier (NetServer Services87 EMail agent) as JSON, with validation
// that names the field. Shared by the REST and SOAP SaveEMailAccount endpoints and by
// `mailmon accounts import`.
import { z } from 'zod';
import { REDACTED } from '../security/redact.js';

import { AccountStatus, ACCOUNT_STATUS_NAMES, OAUTH_GRANTS } from './types.js';
import {
  certificateSchema,
  expiryDateSchema,
  keptOr,
  oauthFieldProblems,
  privateKeySchema,
  serviceAccountKeySchema,
  thumbprintSchema,
  type OAuthFields,
} from './app-credentials.js';
import { SECURITIES, type AuthType } from '../probes/types.js';
import {
  caPemTextSchema,
  canonicalKeys,
  defaultSecurityForPort,
  emailAddressSchema,
  fieldIssues,
  hostSchema,
  isRecord,
  lineSchema,
  deliveryToSchema,
  MAX_CLIENT_ID_LENGTH,
  MAX_NAME_LENGTH,
  MAX_SCOPE_LENGTH,
  nonNegativeIntSchema,
  portNumberSchema,
  secretSchema,
  tokenUrlSchema,
  type FieldIssue,
} from './fields.js';

/** What a password reads as in every response: write-only fields are never echoed. */
export const PASSWORD_MASK = REDACTED;

/** A secret as it may be echoed: '' stays '' (none given), anything else is PASSWORD_MASK. */
export function maskSecret(secret: string): string {
  return secret === '' ? '' : PASSWORD_MASK;
}

/** True when a write-only secret field (password, refresh token) means "keep the stored one". */
export function keepsPassword(password: string | undefined): boolean {
  return password === undefined || password === '' || password === PASSWORD_MASK;
}

/**
 * SuperOffice's auth_type is free text ("plain-text, OAuth..."); these spellings map onto mailmon's
 * AuthType. Compared case-insensitively; an empty string means "let the probe pick".
 */
const AUTH_TYPE_ALIASES: Readonly<Record<string, AuthType>> = {
  '': 'password',
  password: 'password',
  'plain-text': 'password',
  plaintext: 'password',
  basic: 'password',
  normal: 'password',
  plain: 'plain',
  login: 'login',
  'cram-md5': 'cram-md5',
  oauth: 'oauth2',
  oauth2: 'oauth2',
  xoauth2: 'oauth2',
  oauthbearer: 'oauth2',
};

const authTypeSchema = z.string().transform((value, ctx): AuthType => {
  const authType = AUTH_TYPE_ALIASES[value.trim().toLowerCase()];
  if (authType === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `must be one of ${Object.keys(AUTH_TYPE_ALIASES)
        .filter((alias) => alias !== '')
        .join(', ')} (or empty)`,
    });
    return z.NEVER;
  }
  return authType;
});

const STATUS_BY_NAME = new Map(
  Object.entries(ACCOUNT_STATUS_NAMES).map(([value, name]) => [name.toLowerCase(), Number(value)]),
);

/** EmailAccountStatus as its number (SOAP's xsd:short) or its name ("Ok"), as REST clients send enums. */
const accountStatusSchema = z.union([z.number(), z.string()]).transform((value, ctx): AccountStatus => {
  const status = typeof value === 'number' ? value : STATUS_BY_NAME.get(value.trim().toLowerCase());
  if (
    status === undefined ||
    !Number.isInteger(status) ||
    ACCOUNT_STATUS_NAMES[status as AccountStatus] === undefined
  ) {
    ctx.addIssue({ code: 'custom', message: 'must be 0-4 or Unknown, Deleted, Failing, Failed, Ok' });
    return z.NEVER;
  }
  return status as AccountStatus;
});

/**
 * mailmon's extension: how an AuthType "OAuth" side refreshes its access token (the Password). Secrets
 * are write-only: responses show PASSWORD_MASK, and a masked or empty RefreshToken on an update keeps
 * the stored one; ClientSecret "" means none (a public client), PASSWORD_MASK keeps the stored one.
 */
const oauthSettingsObject = z.object({
  /** mailmon extension: refresh_token (default), client_credentials or jwt_bearer. */
  Grant: z
    .enum(OAUTH_GRANTS, { error: `must be one of ${OAUTH_GRANTS.join(', ')}` })
    .default('refresh_token'),
  /** Required, except for Grant jwt_bearer with a ServiceAccountKey (its token_uri). */
  TokenUrl: tokenUrlSchema.optional(),
  ClientId: lineSchema(MAX_CLIENT_ID_LENGTH)
    .refine((value) => value !== '', { error: 'is required' })
    .optional(),
  ClientSecret: secretSchema().default(''),
  RefreshToken: secretSchema().default(''),
  Scope: lineSchema(MAX_SCOPE_LENGTH).default(''),
  /** client_credentials with a certificate: its RSA private key (PEM); "" or the mask keeps the stored one. */
  PrivateKey: z.string().optional(),
  /** client_credentials: the certificate (PEM) the private key belongs to. */
  Certificate: z.string().optional(),
  /** client_credentials: the certificate's SHA-1 thumbprint, when the certificate is not given. */
  CertThumbprint: z.string().optional(),
  /** jwt_bearer: the Google service account JSON key (text or object); "" or the mask keeps the stored one. */
  ServiceAccountKey: z.unknown().optional(),
  /** When the client secret (or key) expires, e.g. "2027-06-30"; a certificate's is its notAfter. */
  CredentialExpiresAt: z.string().optional(),
});

type OAuthSettingsJson = z.output<typeof oauthSettingsObject>;

/**
 * An OAuth object's fields decoded for the save service, each checked by the shared validators
 * (app-credentials.ts); `problems` collects what is wrong, by SuperOffice field name.
 */
export function superOfficeOAuthFields(
  oauth: OAuthSettingsJson,
  problems: { field: string; message: string }[] = [],
): OAuthFields {
  const check = <T>(field: string, schema: z.ZodType<T>, value: unknown): T | undefined => {
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    problems.push({ field, message: parsed.error.issues[0]?.message ?? 'is not valid' });
    return undefined;
  };
  const secret = (value: string) => (keepsPassword(value) ? undefined : value);
  return {
    grant: oauth.Grant,
    tokenUrl: oauth.TokenUrl,
    clientId: oauth.ClientId,
    // "" is none (a public client), as responses show it; the mask keeps the stored one.
    clientSecret:
      oauth.ClientSecret === PASSWORD_MASK
        ? undefined
        : oauth.ClientSecret === ''
          ? null
          : oauth.ClientSecret,
    refreshToken: secret(oauth.RefreshToken),
    scope: oauth.Scope === '' ? null : oauth.Scope,
    privateKey: check('PrivateKey', keptOr(privateKeySchema, PASSWORD_MASK), oauth.PrivateKey),
    certificate: oauth.Certificate ? check('Certificate', certificateSchema, oauth.Certificate) : undefined,
    certThumbprint: oauth.CertThumbprint
      ? check('CertThumbprint', thumbprintSchema, oauth.CertThumbprint)
      : undefined,
    serviceAccountKey: check(
      'ServiceAccountKey',
      keptOr(serviceAccountKeySchema, PASSWORD_MASK),
      oauth.ServiceAccountKey,
    ),
    credentialExpiresAt:
      oauth.CredentialExpiresAt === undefined
        ? undefined
        : oauth.CredentialExpiresAt === ''
          ? null
          : check('CredentialExpiresAt', expiryDateSchema, oauth.CredentialExpiresAt),
  };
}

const OAUTH_NAMES: Readonly<Record<string, string>> = {
  grant: 'Grant',
  tokenUrl: 'TokenUrl',
  clientId: 'ClientId',
  clientSecret: 'ClientSecret',
  refreshToken: 'RefreshToken',
  privateKey: 'PrivateKey',
  certificate: 'Certificate',
  certThumbprint: 'CertThumbprint',
  serviceAccountKey: 'ServiceAccountKey',
};

/**
 * mailmon's extension: how an AuthType "OAuth" side gets its access token (the Password): a refresh
 * token, or app-only (Grant client_credentials or jwt_bearer). Secrets are write-only: responses show
 * PASSWORD_MASK, and a masked or empty RefreshToken, PrivateKey or ServiceAccountKey on an update
 * keeps the stored one; ClientSecret "" means none (a public client), PASSWORD_MASK keeps the stored one.
 */
export const oauthSettingsSchema = oauthSettingsObject.superRefine((oauth, ctx) => {
  const problems: { field: string; message: string }[] = [];
  const fields = superOfficeOAuthFields(oauth, problems);
  if (problems.length === 0)
    for (const p of oauthFieldProblems(fields))
      problems.push({
        field: OAUTH_NAMES[p.field] ?? p.field,
        message: p.message((n) => OAUTH_NAMES[n] ?? n),
      });
  for (const p of problems) ctx.addIssue({ code: 'custom', path: [p.field], message: p.message });
});

/**
 * ServiceAuth: one side's server and credentials. `Security` is mailmon's extension; when absent it
 * follows the port (993/465 → tls, anything else → starttls).
 */
export const serviceAuthSchema = z
  .object({
    ServiceAuthId: nonNegativeIntSchema.default(0),
    Server: hostSchema,
    Port: portNumberSchema,
    AuthType: authTypeSchema.default('password'),
    Username: lineSchema(MAX_NAME_LENGTH),
    /** Clear text in a request; PASSWORD_MASK on an update means "keep the stored one". */
    Password: secretSchema().default(''),
    Security: z.enum(SECURITIES, { error: 'must be "tls", "starttls" or "none"' }).optional(),
    /** Absent keeps the stored settings on an update; null removes them. */
    OAuth: oauthSettingsSchema.nullable().optional(),
    /** mailmon extension: accept a certificate that does not verify (default false). */
    AcceptUnverifiedCert: z.boolean().optional(),
    /** mailmon extension: a CA (PEM) trusted for this server besides the system CAs. */
    CaPem: caPemTextSchema
      .refine((pem) => pem === '' || /-----BEGIN CERTIFICATE-----/.test(pem), {
        error: 'must be PEM (-----BEGIN CERTIFICATE-----) or empty',
      })
      .nullable()
      .optional(),
  })
  .refine((auth) => !auth.OAuth || auth.AuthType === 'oauth2', {
    error: 'is only for AuthType "OAuth"',
    path: ['OAuth'],
  })
  .transform((auth) => ({ ...auth, Security: auth.Security ?? defaultSecurityForPort(auth.Port) }));

/** mailmon extension of the EMailAccount view: the quota seen at the last IMAP check (bytes, counts). */
const mailboxQuotaSchema = z.object({
  UsedBytes: z.number().nullable(),
  LimitBytes: z.number().nullable(),
  Messages: z.number().nullable(),
  MessageLimit: z.number().nullable(),
  UsageRatio: z.number(),
});

/** EMailAccount, validated and normalised. At least one side must be given. */
export const eMailAccountSchema = z
  .object({
    /** 0 creates a new account. */
    EMailAccountId: nonNegativeIntSchema.default(0),
    EMailAddress: emailAddressSchema,
    AssociateId: nonNegativeIntSchema.default(0),
    IncomingCredentials: serviceAuthSchema.nullable().default(null),
    OutgoingCredentials: serviceAuthSchema.nullable().default(null),
    AccountStatus: accountStatusSchema.default(AccountStatus.Unknown),
    ErrorCount: nonNegativeIntSchema.default(0),
    ErrorReason: z.string().max(4000).default(''),
    /** mailmon extension: opt in to the delivery round trip; absent keeps the stored setting. */
    DeliveryCheck: z.boolean().optional(),
    /** mailmon extension: where the probe message goes (delivers into this mailbox); empty/null = EMailAddress. */
    DeliveryTo: z
      .union([z.literal(''), deliveryToSchema])
      .nullable()
      .optional(),
    /** mailmon extension, output only (ignored on input): the mailbox quota seen at the last IMAP check. */
    MailboxQuota: mailboxQuotaSchema.optional(),
  })
  .refine((account) => account.IncomingCredentials !== null || account.OutgoingCredentials !== null, {
    error: 'at least one of IncomingCredentials and OutgoingCredentials is required',
    path: ['IncomingCredentials'],
  });

/** A ServiceAuth after validation: every field present, AuthType and Security normalised. */
export type ServiceAuthJson = z.output<typeof serviceAuthSchema>;
/** An EMailAccount after validation (what CompatDeps.saveEMailAccount receives and returns). */
export type EMailAccountJson = z.output<typeof eMailAccountSchema>;
/** What a client may send. */
export type EMailAccountInput = z.input<typeof eMailAccountSchema>;

const SERVICE_AUTH_KEYS = [
  'ServiceAuthId',
  'Server',
  'Port',
  'AuthType',
  'Username',
  'Password',
  'Security',
  'OAuth',
  'AcceptUnverifiedCert',
  'CaPem',
];
const OAUTH_KEYS = [
  'Grant',
  'TokenUrl',
  'ClientId',
  'ClientSecret',
  'RefreshToken',
  'Scope',
  'PrivateKey',
  'Certificate',
  'CertThumbprint',
  'ServiceAccountKey',
  'CredentialExpiresAt',
];
const ACCOUNT_KEYS = [
  'EMailAccountId',
  'EMailAddress',
  'AssociateId',
  'IncomingCredentials',
  'OutgoingCredentials',
  'AccountStatus',
  'ErrorCount',
  'ErrorReason',
  'DeliveryCheck',
  'DeliveryTo',
];

/**
 * SuperOffice's .NET serialiser binds property names case-insensitively, so clients send
 * `emailAddress` as readily as `EMailAddress`. Maps known keys to their canonical case and drops
 * unknown ones (TableRight, FieldProperties from a round-tripped carrier). Non-objects pass through
 * for the schema to reject.
 */
export function canonicalizeEMailAccount(input: unknown): unknown {
  if (!isRecord(input)) return input;
  const account = canonicalKeys(input, ACCOUNT_KEYS);
  for (const side of ['IncomingCredentials', 'OutgoingCredentials'] as const) {
    const auth = account[side];
    if (!isRecord(auth)) continue;
    const canonical = canonicalKeys(auth, SERVICE_AUTH_KEYS);
    if (isRecord(canonical.OAuth)) canonical.OAuth = canonicalKeys(canonical.OAuth, OAUTH_KEYS);
    account[side] = canonical;
  }
  return account;
}

export type ParseResult = { ok: true; account: EMailAccountJson } | { ok: false; issues: FieldIssue[] };

/**
 * Validates one EMailAccount from any source (REST body, SOAP envelope, import file).
 * `pathPrefix` is prepended to issue paths, e.g. `accounts.3` for the fourth entry of a file.
 */
export function parseEMailAccount(input: unknown, pathPrefix = ''): ParseResult {
  const result = eMailAccountSchema.safeParse(canonicalizeEMailAccount(input));
  if (result.success) return { ok: true, account: result.data };
  return { ok: false, issues: fieldIssues(result.error.issues, pathPrefix) };
}

function maskAuth(auth: ServiceAuthJson | null): ServiceAuthJson | null {
  if (auth === null) return null;
  const { OAuth: oauth } = auth;
  return {
    ...auth,
    Password: maskSecret(auth.Password),
    ...(oauth
      ? {
          OAuth: {
            ...oauth,
            ClientSecret: maskSecret(oauth.ClientSecret),
            RefreshToken: maskSecret(oauth.RefreshToken),
            ...(typeof oauth.PrivateKey === 'string' ? { PrivateKey: maskSecret(oauth.PrivateKey) } : {}),
            ...(oauth.ServiceAccountKey === undefined ? {} : { ServiceAccountKey: PASSWORD_MASK }),
          },
        }
      : {}),
  };
}

/** The account as it may leave mailmon: every non-empty password and OAuth secret replaced by PASSWORD_MASK. */
export function maskEMailAccount(account: EMailAccountJson): EMailAccountJson {
  return {
    ...account,
    IncomingCredentials: maskAuth(account.IncomingCredentials),
    OutgoingCredentials: maskAuth(account.OutgoingCredentials),
  };
}

/** The response carrier shape (no transforms, so it can serialise and document the output). */
const serviceAuthOutSchema = z.object({
  ServiceAuthId: z.number(),
  Server: z.string(),
  Port: z.number(),
  AuthType: z.string(),
  Username: z.string(),
  Password: z.string(),
  Security: z.enum(SECURITIES),
  AcceptUnverifiedCert: z.boolean().optional(),
  CaPem: z.string().nullable().optional(),
  OAuth: z
    .object({
      // Always set in responses; optional only because a request may leave them to a service-account key.
      TokenUrl: z.string().optional(),
      ClientId: z.string().optional(),
      ClientSecret: z.string(),
      RefreshToken: z.string(),
      Scope: z.string(),
      Grant: z.enum(OAUTH_GRANTS).optional(),
      PrivateKey: z.string().optional(),
      CertThumbprint: z.string().optional(),
      CredentialExpiresAt: z.string().optional(),
    })
    .nullable()
    .optional(),
});

export const eMailAccountOutSchema = z.object({
  MailboxQuota: mailboxQuotaSchema.optional(),
  DeliveryCheck: z.boolean().optional(),
  DeliveryTo: z.string().nullable().optional(),
  EMailAccountId: z.number(),
  EMailAddress: z.string(),
  AssociateId: z.number(),
  IncomingCredentials: serviceAuthOutSchema.nullable(),
  OutgoingCredentials: serviceAuthOutSchema.nullable(),
  AccountStatus: z.number(),
  ErrorCount: z.number(),
  ErrorReason: z.string(),
});
