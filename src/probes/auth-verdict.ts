// What a refused login means, read off the server's own answer (never off our secrets): the
// credentials are wrong (auth_rejected), the provider no longer takes a password at all
// (basic_auth_disabled), the account is locked (account_locked) or its password expired
// (password_expired). Each needs a different person to act; all of them back off (CREDENTIAL_FAILURES).
// Only explicit signals count: an ambiguous answer stays auth_rejected.
import type { FailureCode, ServerResponse } from './errors.js';

export type AuthVerdict = Extract<
  FailureCode,
  'auth_rejected' | 'basic_auth_disabled' | 'account_locked' | 'password_expired'
>;

// Microsoft 365: 535 5.7.139 (SmtpClientAuthentication disabled for the tenant or mailbox, security
// defaults, conditional access), 550 5.7.30 (basic auth not supported for client submission).
// Google: 534 5.7.9 (application-specific password required), 534 5.7.14 (log in via the web
// browser: Google no longer takes this password from a mail client).
const BASIC_AUTH_ENHANCED = new Set(['5.7.139', '5.7.30', '5.7.9', '5.7.14']);
const BASIC_AUTH_TEXT =
  /SmtpClientAuthentication is disabled|basic auth(?:entication)? (?:is )?(?:disabled|not (?:supported|allowed|enabled))|application-specific password required|security defaults/i;
// 5.7.139 also covers "the user credentials were incorrect": that one is a wrong password.
const WRONG_CREDENTIALS_TEXT = /credentials (?:were |are )?incorrect|invalid credentials|bad credentials/i;
const EXPIRED_TEXT = /password (?:has )?expired|expired password|password is expired/i;
const LOCKED_TEXT =
  /\b(?:account|user|mailbox|login)\b[^.;]{0,40}\b(?:locked|disabled|suspended|blocked|deactivated)\b|\b(?:locked|disabled|suspended|blocked|deactivated) (?:account|user|mailbox)\b/i;

/** The enhanced status code of an SMTP reply code such as "535 5.7.139", or undefined. */
function enhancedOf(code: string | undefined): string | undefined {
  return /^\d{3} (\d\.\d{1,3}\.\d{1,3})$/.exec(code ?? '')?.[1];
}

/** A refused SMTP AUTH (reply code and text as parsed by parseReply). */
export function smtpAuthVerdict(response: ServerResponse | undefined): AuthVerdict {
  const text = response?.text ?? '';
  const enhanced = enhancedOf(response?.code);
  if (enhanced === '5.7.139' && WRONG_CREDENTIALS_TEXT.test(text)) return 'auth_rejected';
  if ((enhanced !== undefined && BASIC_AUTH_ENHANCED.has(enhanced)) || BASIC_AUTH_TEXT.test(text))
    return 'basic_auth_disabled';
  return textVerdict(text);
}

/**
 * A refused IMAP LOGIN/AUTHENTICATE: the RFC 5530 response code first. CONTACTADMIN is what
 * Dovecot answers for a passdb `nologin` (a disabled user); EXPIRED means the passphrase expired.
 * AUTHORIZATIONFAILED alone (authenticated, but not allowed) counts as locked only with the words.
 */
export function imapAuthVerdict(response: ServerResponse | undefined): AuthVerdict {
  const code = (response?.code ?? '').toUpperCase();
  const text = response?.text ?? '';
  if (code === 'EXPIRED') return 'password_expired';
  if (code === 'CONTACTADMIN') return 'account_locked';
  if (BASIC_AUTH_TEXT.test(text)) return 'basic_auth_disabled';
  return textVerdict(text);
}

function textVerdict(text: string): AuthVerdict {
  if (EXPIRED_TEXT.test(text)) return 'password_expired';
  if (LOCKED_TEXT.test(text)) return 'account_locked';
  return 'auth_rejected';
}
