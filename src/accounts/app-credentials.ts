// The app-only OAuth2 credentials as every entry point receives them (native API, SaveEMailAccount's
// extension, the import file, the CLI): a private key and certificate (Microsoft 365), a Google
// service account's JSON key, a client secret's expiry date. Checked once here, so each door refuses
// the same input with the same sentence; messages never repeat a value (it may be a key).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { certificateThumbprint, normalizeThumbprint } from '../probes/jwt.js';
import type { FieldNamer } from './errors.js';
import type { OAuthInput } from './repository.js';
import type { OAuthGrant } from './types.js';
import { MAX_CLIENT_ID_LENGTH, MAX_SECRET_LENGTH, MAX_TOKEN_URL_LENGTH, tokenUrlSchema } from './fields.js';

/** A PEM private key or certificate: a few KB; MAX_SECRET_LENGTH fits its encrypted TEXT column. */
const MAX_PEM_LENGTH = MAX_SECRET_LENGTH;
/** A service account JSON key: its private key plus a dozen short fields. */
const MAX_SERVICE_ACCOUNT_KEY_LENGTH = 3 * MAX_SECRET_LENGTH;

/** An RSA private key in PEM (PKCS#8 or PKCS#1), unencrypted: what RS256 signs with. */
export const privateKeySchema = z
  .string()
  .max(MAX_PEM_LENGTH, { error: `must be at most ${MAX_PEM_LENGTH} characters` })
  .refine(isRsaPrivateKey, {
    error: 'must be an unencrypted RSA private key in PEM (-----BEGIN PRIVATE KEY-----)',
  });

function isRsaPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

export interface CertificateFacts {
  pem: string;
  /** x5t: base64url SHA-1 of the DER certificate. */
  thumbprint: string;
  notAfter: Date;
}

/** A client certificate (PEM): its x5t and notAfter are what mailmon keeps. */
export const certificateSchema = z
  .string()
  .max(MAX_PEM_LENGTH, { error: `must be at most ${MAX_PEM_LENGTH} characters` })
  .transform((pem, ctx): CertificateFacts => {
    try {
      const cert = new X509Certificate(pem);
      return { pem, thumbprint: certificateThumbprint(pem), notAfter: new Date(cert.validTo) };
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a PEM certificate (-----BEGIN CERTIFICATE-----)' });
      return z.NEVER;
    }
  });

/** A thumbprint as Azure shows it (40 hex digits) or as x5t (27 base64url characters). */
export const thumbprintSchema = z
  .string()
  .max(128, { error: 'must be at most 128 characters' })
  .transform((text, ctx) => {
    const x5t = normalizeThumbprint(text);
    if (x5t === null) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be the certificate SHA-1 thumbprint: 40 hex digits (or its 27-character base64url x5t)',
      });
      return z.NEVER;
    }
    return x5t;
  });

/** An instant (ISO 8601 with a time zone, or a date YYYY-MM-DD meaning its start in UTC). */
export const expiryDateSchema = z
  .string()
  .max(64, { error: 'must be at most 64 characters' })
  .transform((text, ctx) => {
    const ok =
      /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(text) && Number.isFinite(Date.parse(text));
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a date (2027-06-30) or an ISO 8601 time with a zone',
      });
      return z.NEVER;
    }
    return new Date(text);
  });

export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: string;
  tokenUri: string;
}

/**
 * A Google service account's JSON key, as downloaded (text or the object itself). Only
 * client_email, private_key and token_uri are kept; the rest (project, key id) is not needed.
 */
export const serviceAccountKeySchema = z
  .union([
    z.string().max(MAX_SERVICE_ACCOUNT_KEY_LENGTH, { error: 'is too long for a service account key' }),
    z.record(z.string(), z.unknown()),
  ])
  .transform((value, ctx): ServiceAccountKey => {
    const problem = (message: string) => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    let key: unknown = value;
    if (typeof value === 'string') {
      try {
        key = JSON.parse(value);
      } catch {
        return problem('must be the service account JSON key (its text or the object)');
      }
    }
    const record = (key ?? {}) as Record<string, unknown>;
    if (record.type !== undefined && record.type !== 'service_account')
      return problem('must be a key of type "service_account"');
    const email = record.client_email;
    if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email) || email.length > MAX_CLIENT_ID_LENGTH)
      return problem('must have a client_email (the service account address)');
    const pem = record.private_key;
    if (typeof pem !== 'string' || pem.length > MAX_PEM_LENGTH || !isRsaPrivateKey(pem))
      return problem('must have a private_key (an RSA private key in PEM)');
    const uri = record.token_uri ?? 'https://oauth2.googleapis.com/token';
    const checkedUri =
      typeof uri === 'string' && uri.length <= MAX_TOKEN_URL_LENGTH ? tokenUrlSchema.safeParse(uri) : null;
    if (!checkedUri?.success) return problem('must have a token_uri that is an https URL');
    return { clientEmail: email, privateKey: pem, tokenUri: checkedUri.data };
  });

/** True when the certificate's public key is the one `privateKeyPem` belongs to. */
export function keyMatchesCertificate(privateKeyPem: string, certificatePem: string): boolean {
  try {
    return new X509Certificate(certificatePem).checkPrivateKey(createPrivateKey(privateKeyPem));
  } catch {
    return false;
  }
}

/**
 * An `oauth` object's fields as a door received them, validated one by one, secrets already
 * decoded (undefined = keep the stored one, null = none).
 */
export interface OAuthFields {
  grant: OAuthGrant;
  tokenUrl: string | undefined;
  clientId: string | undefined;
  clientSecret: string | null | undefined;
  refreshToken: string | undefined;
  scope: string | null;
  privateKey: string | null | undefined;
  certificate: CertificateFacts | null | undefined;
  certThumbprint: string | null | undefined;
  serviceAccountKey: ServiceAccountKey | undefined;
  credentialExpiresAt: Date | null | undefined;
}

export interface FieldProblem {
  /** Neutral field name inside `oauth`. */
  field: string;
  message: (name: FieldNamer) => string;
}

const APP_FIELDS = ['privateKey', 'certificate', 'certThumbprint'] as const;

/** What is wrong with the combination of fields for its grant (each field alone is valid). */
export function oauthFieldProblems(f: OAuthFields): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (field: string, message: (name: FieldNamer) => string) => problems.push({ field, message });
  const given = (value: unknown) => value !== undefined && value !== null;
  const requireEndpoint = () => {
    if (f.tokenUrl === undefined) add('tokenUrl', () => 'is required');
    if (f.clientId === undefined) add('clientId', () => 'is required');
  };
  if (f.grant === 'refresh_token') {
    requireEndpoint();
    for (const field of [...APP_FIELDS, 'serviceAccountKey'] as const)
      if (given(f[field]))
        add(field, (n) => `is only for the app-only grants (${n('grant')} client_credentials or jwt_bearer)`);
    return problems;
  }
  if (given(f.refreshToken))
    add('refreshToken', (n) => `is not used by ${n('grant')} ${f.grant} (no refresh token)`);
  if (f.grant === 'client_credentials') {
    requireEndpoint();
    if (given(f.serviceAccountKey)) add('serviceAccountKey', (n) => `is only for ${n('grant')} jwt_bearer`);
    if (typeof f.clientSecret === 'string' && typeof f.privateKey === 'string')
      add('clientSecret', (n) => `and ${n('privateKey')} are both given: client credentials use one of them`);
    if (typeof f.privateKey === 'string') {
      if (!f.certificate && !f.certThumbprint)
        add('certificate', (n) => `(or ${n('certThumbprint')}) is required with a new ${n('privateKey')}`);
      else if (f.certificate && !keyMatchesCertificate(f.privateKey, f.certificate.pem))
        add('privateKey', (n) => `does not belong to ${n('certificate')}`);
    }
    return problems;
  }
  // jwt_bearer: the service account key names its own token endpoint and client.
  for (const field of APP_FIELDS)
    if (given(f[field]))
      add(field, (n) => `is not used by ${n('grant')} jwt_bearer: send ${n('serviceAccountKey')}`);
  if (typeof f.clientSecret === 'string')
    add('clientSecret', (n) => `is not used by ${n('grant')} jwt_bearer`);
  const key = f.serviceAccountKey;
  if (key === undefined) {
    requireEndpoint();
  } else {
    if (f.tokenUrl !== undefined && f.tokenUrl !== key.tokenUri)
      add('tokenUrl', (n) => `differs from the token_uri of ${n('serviceAccountKey')}: leave it out`);
    if (f.clientId !== undefined && f.clientId !== key.clientEmail)
      add('clientId', (n) => `differs from the client_email of ${n('serviceAccountKey')}: leave it out`);
  }
  return problems;
}

/** The save service's OAuthInput for fields without problems (oauthFieldProblems). */
export function toOAuthInput(f: OAuthFields): OAuthInput {
  const base = { clientSecret: f.clientSecret, refreshToken: f.refreshToken, scope: f.scope };
  if (f.grant === 'refresh_token') return { tokenUrl: f.tokenUrl ?? '', clientId: f.clientId ?? '', ...base };
  if (f.grant === 'client_credentials') {
    const newKey = typeof f.privateKey === 'string';
    return {
      grant: f.grant,
      tokenUrl: f.tokenUrl ?? '',
      clientId: f.clientId ?? '',
      ...base,
      refreshToken: undefined,
      // A new credential of one kind replaces the other kind.
      clientSecret: newKey ? (f.clientSecret ?? null) : f.clientSecret,
      privateKey: typeof f.clientSecret === 'string' ? (f.privateKey ?? null) : f.privateKey,
      ...(f.certificate
        ? { certThumbprint: f.certificate.thumbprint, credentialExpiresAt: f.certificate.notAfter }
        : {
            ...(f.certThumbprint === undefined ? {} : { certThumbprint: f.certThumbprint }),
            ...(f.credentialExpiresAt === undefined ? {} : { credentialExpiresAt: f.credentialExpiresAt }),
          }),
    };
  }
  const key = f.serviceAccountKey;
  return {
    grant: f.grant,
    tokenUrl: f.tokenUrl ?? key?.tokenUri ?? '',
    clientId: f.clientId ?? key?.clientEmail ?? '',
    ...base,
    clientSecret: null,
    refreshToken: undefined,
    privateKey: key?.privateKey,
    certThumbprint: null,
    ...(f.credentialExpiresAt === undefined ? {} : { credentialExpiresAt: f.credentialExpiresAt }),
  };
}

/**
 * A write-only field: "" or `mask` (as a response shows it) keeps the stored value (undefined);
 * anything else must pass `schema`, whose own messages are reported.
 */
export function keptOr<T>(schema: z.ZodType<T>, mask: string) {
  return z.unknown().transform((value, ctx): T | undefined => {
    if (value === '' || value === mask) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  });
}
