// The signed JWTs of the app-only grants (RFC 7523): Microsoft's client assertion and Google's
// service-account assertion, RS256 with node:crypto. Pure apart from the random jti.
import { createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** A JWT signed with RS256 by `privateKeyPem`. Throws when the key is not an RSA private key. */
export function signRs256(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  privateKeyPem: string,
): string {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the private key is not an RSA key (RS256 needs one)');
  const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}

/** Assertions live this long: the token endpoint only needs minutes. */
const ASSERTION_LIFETIME_S = 5 * 60;

/** Registered claims of a fresh assertion issued at `now`: iat, nbf, exp, jti. */
export function assertionTimes(now: Date): { iat: number; nbf: number; exp: number; jti: string } {
  const iat = Math.floor(now.getTime() / 1000);
  return { iat, nbf: iat, exp: iat + ASSERTION_LIFETIME_S, jti: randomUUID() };
}

/** The certificate's x5t: the base64url SHA-1 of its DER form (what Entra ID matches keys by). */
export function certificateThumbprint(certPem: string): string {
  return createHash('sha1').update(new X509Certificate(certPem).raw).digest('base64url');
}

/**
 * A thumbprint as Azure's portal shows it (40 hex digits, colons or spaces allowed) or already as
 * x5t (27 base64url characters), as x5t; null when it is neither.
 */
export function normalizeThumbprint(text: string): string | null {
  const hex = text.replace(/[\s:]/g, '');
  if (/^[0-9a-fA-F]{40}$/.test(hex)) return Buffer.from(hex, 'hex').toString('base64url');
  return /^[A-Za-z0-9_-]{27}$/.test(text) ? text : null;
}
