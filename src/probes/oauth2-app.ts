// The app-only grants, no refresh token and no person in the loop:
// - Microsoft 365 client credentials (RFC 6749 4.4) with a client secret, or with a certificate:
//   the client_assertion JWT (RFC 7523 2.2) Entra ID recommends, with x5t naming the certificate;
// - Google's JWT bearer grant (RFC 7523 2.1) for a service account with domain-wide delegation,
//   sub = the mailbox.
// Both go through requestToken: the same egress check, bounded answer and failure codes.
import { assertionTimes, signRs256 } from './jwt.js';
import { ProbeError } from './errors.js';
import { requestToken, type OAuth2Deps, type OAuth2Token } from './oauth2.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Microsoft 365's IMAP/SMTP resource; app tokens ask for its .default (the consented permissions). */
export const MICROSOFT_DEFAULT_SCOPE = 'https://outlook.office365.com/.default';
export const GOOGLE_MAIL_SCOPE = 'https://mail.google.com/';

export type AppGrantRequest =
  | {
      grant: 'client_credentials';
      tokenUrl: string;
      clientId: string;
      scope: string;
      /** Exactly one of the two: a client secret, or a certificate's key and x5t. */
      clientSecret: string | null;
      certificate: { privateKeyPem: string; thumbprint: string } | null;
    }
  | {
      grant: 'jwt_bearer';
      tokenUrl: string;
      /** The service account's client_email. */
      clientId: string;
      scope: string;
      privateKeyPem: string;
      /** The mailbox the token acts as (domain-wide delegation). */
      subject: string;
    };

/** An access token for `req`. Rejects with a ProbeError only (no secret in its message). */
export async function requestAppToken(
  req: AppGrantRequest,
  signal: AbortSignal,
  deps: OAuth2Deps = {},
): Promise<OAuth2Token> {
  const now = (deps.now ?? (() => new Date()))();
  const body = new URLSearchParams();
  const secrets: string[] = [];
  if (req.grant === 'client_credentials') {
    body.set('grant_type', 'client_credentials');
    body.set('client_id', req.clientId);
    body.set('scope', req.scope);
    if (req.certificate) {
      const assertion = sign(
        { x5t: req.certificate.thumbprint },
        { aud: req.tokenUrl, iss: req.clientId, sub: req.clientId, ...assertionTimes(now) },
        req.certificate.privateKeyPem,
      );
      body.set('client_assertion_type', CLIENT_ASSERTION_TYPE);
      body.set('client_assertion', assertion);
      secrets.push(assertion);
    } else if (req.clientSecret) {
      body.set('client_secret', req.clientSecret);
      secrets.push(req.clientSecret);
    } else {
      throw new ProbeError(
        'config_invalid',
        'auth',
        'client credentials need a client secret or a certificate',
      );
    }
  } else {
    const { iat, exp } = assertionTimes(now);
    const assertion = sign(
      {},
      { iss: req.clientId, sub: req.subject, scope: req.scope, aud: req.tokenUrl, iat, exp },
      req.privateKeyPem,
    );
    body.set('grant_type', JWT_BEARER_GRANT);
    body.set('assertion', assertion);
    secrets.push(assertion);
  }
  const { token } = await requestToken(req.tokenUrl, body, secrets, signal, deps);
  return token;
}

/** signRs256, with a key that cannot sign as config_invalid (it was checked at save; a bug or a rotated format). */
function sign(header: Record<string, unknown>, claims: Record<string, unknown>, pem: string): string {
  try {
    return signRs256(header, claims, pem);
  } catch (error) {
    throw new ProbeError('config_invalid', 'auth', 'the stored private key cannot sign an assertion', {
      cause: new Error((error as Error).name),
    });
  }
}
