// The native API's request and response shapes. The same schemas validate requests, serialise
// responses and generate the OpenAPI document. Field validators (host, port, single-line text,
// secret) are the ones the compatible endpoints use, so both refuse the same input the same way.
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { ACCOUNT_STATUS_NAMES, OAUTH_GRANTS } from '../../accounts/types.js';
import { FAILURE_CODES, PHASES } from '../../probes/errors.js';
import { AUTH_TYPES, SECURITIES } from '../../probes/types.js';
import { DELIVERY_OUTCOMES } from '../../probes/mailbox-facts.js';
import {
  caPemTextSchema,
  deliveryToSchema,
  emailAddressSchema,
  hostSchema,
  lineSchema,
  MAX_CLIENT_ID_LENGTH,
  MAX_INT,
  MAX_NAME_LENGTH,
  MAX_SCOPE_LENGTH,
  nonNegativeIntSchema,
  portNumberSchema,
  secretSchema,
  tokenUrlSchema,
} from '../../accounts/fields.js';
import { keepsPassword, PASSWORD_MASK } from '../../accounts/superoffice-schema.js';
import {
  certificateSchema,
  expiryDateSchema,
  keptOr,
  oauthFieldProblems,
  privateKeySchema,
  serviceAccountKeySchema,
  thumbprintSchema,
  type OAuthFields,
} from '../../accounts/app-credentials.js';

export const STATUS_NAMES = ['Unknown', 'Deleted', 'Failing', 'Failed', 'Ok'] as const;
export type StatusName = (typeof STATUS_NAMES)[number];
const statusSchema = z.enum(STATUS_NAMES);

/** A decimal integer in a path or query string, with one message naming what it must be. */
function integerText(min: number, max: number, what: string) {
  const error = `must be ${what}: an integer from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d{1,10}$/, { error })
    .transform(Number)
    .pipe(z.number().int().min(min, { error }).max(max, { error }));
}

const caPemSchema = caPemTextSchema.refine(
  (pem) => {
    try {
      new X509Certificate(pem);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be a PEM certificate (-----BEGIN CERTIFICATE-----)' },
);

const credentialsFields = {
  server: hostSchema.meta({
    description: 'Host name or IP address (no CR/LF, spaces or "/")',
    example: 'imap.example.com',
  }),
  port: portNumberSchema.meta({ example: 993 }),
  security: z
    .enum(SECURITIES, { error: 'must be "tls", "starttls" or "none"' })
    .optional()
    .meta({ description: 'tls (implicit), starttls or none; default: tls on 993/465, starttls elsewhere' }),
  authType: z
    .enum(AUTH_TYPES, { error: `must be one of ${AUTH_TYPES.join(', ')}` })
    .default('password')
    .meta({
      description: 'password lets the probe pick a mechanism; oauth2 takes an access token as password',
    }),
  username: lineSchema(MAX_NAME_LENGTH),
  acceptUnverifiedCert: z.boolean().default(false),
  caPem: caPemSchema
    .nullable()
    .default(null)
    .meta({ description: 'Extra trusted CA (PEM) besides the system CAs' }),
};

const KEEPS = `absent, "" or "${PASSWORD_MASK}" keeps the stored one`;

/**
 * How an oauth2 side gets its access token: a refresh token (grant refresh_token, the default), or
 * app-only: client_credentials (Microsoft 365; a client secret or a certificate) and jwt_bearer (a
 * Google service account with domain-wide delegation). Secrets are write-only like passwords; the
 * non-secret settings are returned as given.
 */
const oauthObjectSchema = z.strictObject({
  grant: z
    .enum(OAUTH_GRANTS, { error: `must be one of ${OAUTH_GRANTS.join(', ')}` })
    .default('refresh_token')
    .meta({
      description:
        'refresh_token (a per-mailbox grant), client_credentials (Microsoft 365 app-only) or jwt_bearer (Google service account); default refresh_token',
    }),
  tokenUrl: tokenUrlSchema.optional().meta({
    description:
      'The token endpoint: https (http only to a loopback address). Required, except for jwt_bearer with a serviceAccountKey (its token_uri)',
    example: 'https://login.microsoftonline.com/TENANT/oauth2/v2.0/token',
  }),
  clientId: lineSchema(MAX_CLIENT_ID_LENGTH)
    .refine((value) => value !== '', { error: 'is required' })
    .optional()
    .meta({
      description:
        'The application (client) id registered with the token endpoint; for jwt_bearer the service account client_email (taken from serviceAccountKey)',
    }),
  clientSecret: secretSchema()
    .nullable()
    .optional()
    .meta({
      description: `Write-only. null (or none stored) = a public client, or a certificate instead; on update ${KEEPS}`,
    }),
  refreshToken: secretSchema()
    .optional()
    .meta({
      description: `Write-only. refresh_token grant: required for new OAuth settings; on update ${KEEPS}`,
    }),
  scope: lineSchema(MAX_SCOPE_LENGTH).nullable().optional().meta({
    description:
      'Space-separated scopes; absent, null or "" = none (refresh_token), https://outlook.office365.com/.default (client_credentials), https://mail.google.com/ (jwt_bearer)',
    example: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access',
  }),
  privateKey: keptOr(privateKeySchema, PASSWORD_MASK)
    .nullable()
    .optional()
    .meta({
      description: `Write-only. client_credentials with a certificate: its RSA private key (PEM); null = none (a client secret instead); ${KEEPS}`,
    }),
  certificate: certificateSchema.optional().meta({
    description:
      'client_credentials: the certificate (PEM) the private key belongs to; mailmon keeps its thumbprint (x5t) and notAfter',
  }),
  certThumbprint: thumbprintSchema.nullable().optional().meta({
    description:
      'client_credentials: the certificate SHA-1 thumbprint (40 hex digits), when the certificate is not given',
  }),
  serviceAccountKey: keptOr(serviceAccountKeySchema, PASSWORD_MASK)
    .optional()
    .meta({
      description: `Write-only. jwt_bearer: the service account JSON key (its text or the object); client_email, private_key and token_uri are used; ${KEEPS}`,
    }),
  credentialExpiresAt: expiryDateSchema.nullable().optional().meta({
    description:
      "When the client secret (or service account key) expires, e.g. 2027-06-30; a certificate's comes from its notAfter. Exported as mailmon_oauth_credential_expiry_timestamp_seconds",
  }),
  accessExpiresAt: z
    .string()
    .max(64, { error: 'must be at most 64 characters' })
    .nullable()
    .optional()
    .meta({ description: 'Read-only: ignored, so that settings read from a response can be sent back' }),
});

/** A validated `oauth` object's fields, secrets decoded: absent, "" or the mask keeps (undefined). */
export function oauthFields(oauth: z.output<typeof oauthObjectSchema>): OAuthFields {
  return {
    grant: oauth.grant,
    tokenUrl: oauth.tokenUrl,
    clientId: oauth.clientId,
    clientSecret:
      oauth.clientSecret === null ? null : keepsPassword(oauth.clientSecret) ? undefined : oauth.clientSecret,
    refreshToken: keepsPassword(oauth.refreshToken) ? undefined : oauth.refreshToken,
    scope: oauth.scope ? oauth.scope : null,
    privateKey: oauth.privateKey,
    certificate: oauth.certificate,
    certThumbprint: oauth.certThumbprint,
    serviceAccountKey: oauth.serviceAccountKey,
    credentialExpiresAt: oauth.credentialExpiresAt,
  };
}

export const oauthInputSchema = oauthObjectSchema.superRefine((oauth, ctx) => {
  for (const problem of oauthFieldProblems(oauthFields(oauth)))
    ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message((name) => name) });
});
export type OAuthInputBody = z.output<typeof oauthInputSchema>;

/** One side's credentials in a create or update. */
export const credentialsInputSchema = z
  .strictObject({
    ...credentialsFields,
    // Left out, the trust settings keep the stored side's while server and port stay the same.
    acceptUnverifiedCert: z.boolean().optional().meta({
      description: `Accept a certificate that does not verify. On update absent keeps the stored value while server and port stay the same; otherwise default false`,
    }),
    caPem: caPemSchema.nullable().optional().meta({
      description: `Extra trusted CA (PEM) besides the system CAs; null = none. On update absent keeps the stored one while server and port stay the same`,
    }),
    password: secretSchema()
      .optional()
      .meta({
        description:
          `Write-only. Required for new credentials, except on an oauth2 side with oauth settings ` +
          `(the first check fetches an access token); on update ${KEEPS}`,
      }),
    oauth: oauthInputSchema.nullable().optional().meta({
      description:
        'OAuth2 refresh settings, authType oauth2 only. On update absent keeps the stored ones, null removes them',
    }),
  })
  .refine((side) => (side.oauth ?? null) === null || side.authType === 'oauth2', {
    error: 'is only for authType "oauth2"',
    path: ['oauth'],
  });

/** One side's credentials in an ad-hoc test: the password is required. */
export const testCredentialsSchema = z.strictObject({ ...credentialsFields, password: secretSchema() });

function atLeastOneSide(value: { incoming?: unknown; outgoing?: unknown }): boolean {
  return (value.incoming ?? null) !== null || (value.outgoing ?? null) !== null;
}
const SIDE_REQUIRED = { error: 'at least one of incoming and outgoing is required', path: ['incoming'] };

const deliverySettingSchema = z.strictObject({
  enabled: z.boolean(),
  to: deliveryToSchema
    .nullable()
    .default(null)
    .meta({ description: 'An address that delivers into this mailbox; null = the account address' }),
});

export const accountInputSchema = z
  .strictObject({
    emailAddress: emailAddressSchema,
    associateId: nonNegativeIntSchema.default(0),
    incoming: credentialsInputSchema.nullable().default(null).meta({ description: 'IMAP' }),
    outgoing: credentialsInputSchema.nullable().default(null).meta({ description: 'SMTP' }),
    delivery: deliverySettingSchema.optional().meta({
      description: 'The delivery round trip opt-in; absent keeps the stored setting (off on create)',
    }),
  })
  .refine(atLeastOneSide, SIDE_REQUIRED);
export type AccountInputBody = z.output<typeof accountInputSchema>;
export type CredentialsInputBody = z.output<typeof credentialsInputSchema>;
export type TestCredentialsBody = z.output<typeof testCredentialsSchema>;

export const adHocTestSchema = z
  .strictObject({
    emailAddress: lineSchema(MAX_NAME_LENGTH)
      .optional()
      .meta({ description: 'Used as the SMTP sender where one is needed' }),
    incoming: testCredentialsSchema.optional().meta({ description: 'IMAP' }),
    outgoing: testCredentialsSchema.optional().meta({ description: 'SMTP' }),
  })
  .refine(atLeastOneSide, SIDE_REQUIRED);
export type AdHocTestBody = z.output<typeof adHocTestSchema>;

export const idParamsSchema = z.object({ id: integerText(1, MAX_INT, 'an account id') });

export const listQuerySchema = z.object({
  status: statusSchema
    .optional()
    .meta({ description: 'Only accounts in this status (Deleted shows the Deleted ones)' }),
  includeDeleted: z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .optional()
    .transform((value) => value === 'true')
    .meta({ description: 'Also list Deleted accounts (default false: they are hidden)' }),
  limit: integerText(1, 1000, 'a page size').optional(),
  offset: integerText(0, MAX_INT, 'an offset').optional(),
});

export const historyQuerySchema = z.object({ limit: integerText(1, 1000, 'a number of entries').optional() });

// ---- responses (no transforms: they are encoded, not parsed) ----

const credentialsViewSchema = z.object({
  server: z.string(),
  port: z.number().int(),
  security: z.enum(SECURITIES),
  authType: z.enum(AUTH_TYPES),
  username: z.string(),
  password: z.literal(PASSWORD_MASK),
  acceptUnverifiedCert: z.boolean(),
  caPem: z.string().nullable(),
  oauth: z
    .object({
      grant: z.enum(OAUTH_GRANTS),
      tokenUrl: z.string(),
      clientId: z.string(),
      clientSecret: z
        .literal(PASSWORD_MASK)
        .nullable()
        .meta({ description: 'The mask when a client secret is stored; null for a public client' }),
      refreshToken: z
        .literal(PASSWORD_MASK)
        .nullable()
        .meta({ description: 'The mask for the refresh_token grant; null for the app-only grants' }),
      privateKey: z.literal(PASSWORD_MASK).nullable().meta({
        description: 'The mask when a private key (certificate or service account) is stored; else null',
      }),
      certThumbprint: z.string().nullable().meta({ description: "The client certificate's x5t" }),
      credentialExpiresAt: z.string().nullable().meta({
        description:
          'When the app-only credential expires (certificate notAfter, configured secret expiry); null = unknown',
      }),
      scope: z.string().nullable(),
      accessExpiresAt: z
        .string()
        .nullable()
        .meta({ description: 'When the stored access token expires; null = unknown, or none yet' }),
    })
    .nullable()
    .meta({ description: 'OAuth2 refresh settings of an oauth2 side; null = none' }),
});

const phaseTimingSchema = z.object({ phase: z.enum(PHASES), ms: z.number() });
const tlsFactsSchema = z.object({
  protocol: z.string().nullable(),
  cipher: z.string().nullable(),
  subject: z.string().nullable(),
  issuer: z.string().nullable(),
  subjectAltNames: z.array(z.string()),
  validFrom: z.string().nullable(),
  notAfter: z.string().nullable(),
  authorized: z.boolean(),
  authorizationError: z.string().nullable(),
});
const transcriptLineSchema = z.object({
  t: z.number().meta({ description: 'ms since the probe started' }),
  dir: z.enum(['C', 'S', '*']),
  line: z.string(),
});

const quotaSchema = z
  .object({
    root: z.string(),
    storageUsedBytes: z.number().nullable(),
    storageLimitBytes: z.number().nullable(),
    messages: z.number().nullable(),
    messageLimit: z.number().nullable(),
    usageRatio: z.number().meta({ description: 'highest usage/limit of the resources; 1 = full' }),
  })
  .meta({ description: "IMAP: the mailbox's quota root (servers advertising QUOTA)" });
const deliverySchema = z
  .object({
    outcome: z.enum(DELIVERY_OUTCOMES),
    sentAt: z.string(),
    latencyMs: z.number().nullable(),
    folder: z.string().nullable(),
    arrivals: z.array(z.object({ latencyMs: z.number().nullable(), junk: z.boolean(), late: z.boolean() })),
    pending: z.number().int(),
  })
  .meta({ description: 'SMTP: the delivery round trip, when one ran with this check' });
const warningSchema = z
  .object({ code: z.enum(FAILURE_CODES), reason: z.string() })
  .meta({ description: 'On an ok side: worth knowing although the account works (status stays Ok)' });

const sideCommon = {
  side: z.enum(['imap', 'smtp']),
  ok: z.boolean(),
  code: z.enum(FAILURE_CODES).nullable(),
  phase: z.enum(PHASES).nullable(),
  reason: z.string().nullable(),
  durationMs: z.number(),
  phases: z.array(phaseTimingSchema),
  tls: tlsFactsSchema.nullable(),
  transcript: z.array(transcriptLineSchema).meta({ description: 'Redacted protocol transcript' }),
  quota: quotaSchema.nullable(),
  delivery: deliverySchema.nullable(),
  warning: warningSchema.nullable(),
};

/** One side of a test just run. */
export const sideResultSchema = z.object({
  ...sideCommon,
  response: z
    .object({ code: z.string().optional(), text: z.string().optional() })
    .nullable()
    .meta({ description: "The server's reply at the failing step (redacted)" }),
  address: z.string().nullable().meta({ description: 'The IP address the probe connected to' }),
});
export type SideResultView = z.infer<typeof sideResultSchema>;

/** One side's last stored check. */
export const lastCheckSchema = z.object({
  ...sideCommon,
  checkedAt: z.string(),
  lastSuccessAt: z.string().nullable(),
});

export const accountViewSchema = z.object({
  id: z.number().int(),
  emailAddress: z.string(),
  associateId: z.number().int(),
  status: statusSchema,
  errorCount: z.number().int(),
  errorReason: z.string(),
  incoming: credentialsViewSchema.nullable(),
  outgoing: credentialsViewSchema.nullable(),
  registered: z.string(),
  updated: z.string(),
  lastCheckAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  nextDueAt: z.string().nullable(),
  delivery: z.object({ enabled: z.boolean(), to: z.string().nullable() }),
  /**
   * Set while the account's checks back off after credential failures (issue 11): `failures` in a
   * row (the wait is 2^(failures-1) × the interval, capped), the latest credential failure code; nextDueAt is
   * the next check. A save with new credentials or a manual test ends it.
   */
  authBackoff: z.object({ failures: z.number().int().min(1), code: z.enum(FAILURE_CODES) }).nullable(),
});
export type AccountView = z.infer<typeof accountViewSchema>;

export const accountDetailSchema = accountViewSchema.extend({ lastChecks: z.array(lastCheckSchema) });

export const accountListSchema = z.object({
  items: z.array(accountViewSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const historySchema = z.object({
  accountId: z.number().int(),
  items: z.array(
    z.object({
      side: z.enum(['imap', 'smtp']),
      checkedAt: z.string(),
      ok: z.boolean(),
      code: z.enum(FAILURE_CODES).nullable(),
      phase: z.enum(PHASES).nullable(),
      reason: z.string().nullable(),
      durationMs: z.number(),
    }),
  ),
});

export const accountTestResultSchema = z.object({
  accountId: z.number().int(),
  ok: z.boolean(),
  account: accountViewSchema.meta({ description: 'The account after the check was recorded' }),
  sides: z.array(sideResultSchema),
});

export const adHocResultSchema = z.object({ ok: z.boolean(), sides: z.array(sideResultSchema) });

export function statusName(status: number): StatusName {
  return (ACCOUNT_STATUS_NAMES as Record<number, StatusName>)[status] ?? 'Unknown';
}
