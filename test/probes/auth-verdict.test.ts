// What refused logins mean (issue 11): each server answer below is one real providers send; an
// ambiguous one stays auth_rejected, so ops are never told "move to OAuth" for a wrong password.
import { describe, expect, it } from 'vitest';
import { imapAuthVerdict, smtpAuthVerdict } from '../../src/probes/auth-verdict.js';
import { parseReply } from '../../src/probes/smtp-errors.js';

describe('smtpAuthVerdict', () => {
  it.each([
    [
      '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.',
      'basic_auth_disabled',
    ],
    ['535 5.7.139 Authentication unsuccessful, basic authentication is disabled.', 'basic_auth_disabled'],
    [
      "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.",
      'basic_auth_disabled',
    ],
    ['535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.', 'auth_rejected'],
    ['550 5.7.30 Basic authentication is not supported for Client Submission.', 'basic_auth_disabled'],
    [
      '535 5.7.3 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.',
      'basic_auth_disabled',
    ],
    // Microsoft's bare 5.7.3 is also its wrong-password answer: not enough to say "move to OAuth".
    ['535 5.7.3 Authentication unsuccessful', 'auth_rejected'],
    [
      '534-5.7.9 Application-specific password required. Learn more at\r\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor',
      'basic_auth_disabled',
    ],
    [
      '534-5.7.14 <https://accounts.google.com/signin/continue?x> Please log in via your web browser and\r\n534 5.7.14 then try again.',
      'basic_auth_disabled',
    ],
    ['535 5.7.8 Error: authentication failed: account locked', 'account_locked'],
    ['535 5.7.8 Authentication failed: user account is disabled', 'account_locked'],
    ['535 5.7.1 Account disabled', 'account_locked'],
    ['535 5.7.8 Error: authentication failed: password expired', 'password_expired'],
    ['535 5.7.8 Error: authentication failed: authentication failure', 'auth_rejected'],
    ['535 Authentication credentials invalid', 'auth_rejected'],
  ])('%s → %s', (reply, want) => {
    expect(smtpAuthVerdict(parseReply(reply))).toBe(want);
  });
});

describe('imapAuthVerdict (RFC 5530 response codes)', () => {
  it.each([
    [{ code: 'AUTHENTICATIONFAILED', text: 'Authentication failed.' }, 'auth_rejected'],
    [{ code: 'CONTACTADMIN', text: 'Login disabled for this user' }, 'account_locked'],
    [{ code: 'EXPIRED', text: 'Password expired' }, 'password_expired'],
    [{ code: 'AUTHORIZATIONFAILED', text: 'Account is suspended' }, 'account_locked'],
    [{ code: 'AUTHORIZATIONFAILED', text: 'Not authorized' }, 'auth_rejected'],
    [{ code: 'AUTHENTICATIONFAILED', text: 'Invalid credentials (Failure)' }, 'auth_rejected'],
    [{ code: undefined, text: 'AUTHENTICATE failed.' }, 'auth_rejected'],
    [{ code: undefined, text: 'LOGIN failed.' }, 'auth_rejected'],
  ])('%j → %s', (response, want) => {
    expect(imapAuthVerdict(response)).toBe(want);
  });
});
