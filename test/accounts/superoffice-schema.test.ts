import { describe, expect, it } from 'vitest';

import { normalizeHost } from '../../src/accounts/fields.js';
import { scrubSecrets } from '../../src/http/compat/redact.js';
import { maskEMailAccount, parseEMailAccount, PASSWORD_MASK } from '../../src/accounts/superoffice-schema.js';

const auth = (over: Record<string, unknown> = {}) => ({
  Server: 'mail.example.test',
  Port: 993,
  Username: 'u',
  Password: 'pw',
  ...over,
});

describe('parseEMailAccount', () => {
  it('fills defaults and normalises AuthType and Security', () => {
    const parsed = parseEMailAccount({
      EMailAddress: 'a@example.test',
      IncomingCredentials: auth(),
      OutgoingCredentials: auth({ Port: 587, AuthType: 'OAuth' }),
    });
    expect(parsed).toEqual({
      ok: true,
      account: {
        EMailAccountId: 0,
        EMailAddress: 'a@example.test',
        AssociateId: 0,
        IncomingCredentials: {
          ServiceAuthId: 0,
          Server: 'mail.example.test',
          Port: 993,
          AuthType: 'password',
          Username: 'u',
          Password: 'pw',
          Security: 'tls',
        },
        OutgoingCredentials: {
          ServiceAuthId: 0,
          Server: 'mail.example.test',
          Port: 587,
          AuthType: 'oauth2',
          Username: 'u',
          Password: 'pw',
          Security: 'starttls',
        },
        AccountStatus: 0,
        ErrorCount: 0,
        ErrorReason: '',
      },
    });
  });

  it.each([
    [465, 'tls'],
    [993, 'tls'],
    [143, 'starttls'],
    [587, 'starttls'],
    [25, 'starttls'],
    [2525, 'starttls'],
  ])('Security defaults from port %i to %s; an explicit value wins', (port, security) => {
    const parsed = parseEMailAccount({
      EMailAddress: 'a@example.test',
      IncomingCredentials: auth({ Port: port }),
    });
    expect(parsed.ok && parsed.account.IncomingCredentials?.Security).toBe(security);
    const explicit = parseEMailAccount({
      EMailAddress: 'a@example.test',
      IncomingCredentials: auth({ Port: port, Security: 'none' }),
    });
    expect(explicit.ok && explicit.account.IncomingCredentials?.Security).toBe('none');
  });

  it('binds property names case-insensitively, as SuperOffice does, and accepts status names', () => {
    const parsed = parseEMailAccount({
      emailAddress: 'a@example.test',
      accountStatus: 'ok',
      incomingcredentials: { server: 'h', port: 143, username: 'u' },
    });
    expect(parsed).toMatchObject({
      ok: true,
      account: {
        AccountStatus: 4,
        IncomingCredentials: { Server: 'h', Port: 143, Password: '', Security: 'starttls' },
      },
    });
  });

  it('names every bad field with its path and the given prefix', () => {
    const parsed = parseEMailAccount(
      {
        EMailAddress: 'nope',
        IncomingCredentials: auth({ Port: 70000, Server: 'a b', AuthType: 'kerberos' }),
        AccountStatus: 9,
      },
      'accounts.2',
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues.map((issue) => issue.path).sort()).toEqual([
      'accounts.2.AccountStatus',
      'accounts.2.EMailAddress',
      'accounts.2.IncomingCredentials.AuthType',
      'accounts.2.IncomingCredentials.Port',
      'accounts.2.IncomingCredentials.Server',
    ]);
  });

  it('refuses a non-object without throwing', () => {
    expect(parseEMailAccount('x')).toMatchObject({ ok: false, issues: [{ path: '(body)' }] });
    expect(parseEMailAccount([1], 'accounts.0')).toMatchObject({
      ok: false,
      issues: [{ path: 'accounts.0' }],
    });
  });

  it('masks non-empty passwords only', () => {
    const parsed = parseEMailAccount({
      EMailAddress: 'a@example.test',
      IncomingCredentials: auth(),
      OutgoingCredentials: auth({ Password: '' }),
    });
    if (!parsed.ok) throw new Error('expected ok');
    const masked = maskEMailAccount(parsed.account);
    expect(masked.IncomingCredentials?.Password).toBe(PASSWORD_MASK);
    expect(masked.OutgoingCredentials?.Password).toBe('');
  });
});

describe('normalizeHost', () => {
  it.each([
    ['mail.example.test', 'mail.example.test'],
    ['[::1]', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['a b', null],
    ['a\r\nb', null],
    ['evil.example/mail.corp', null],
    ['a%2eb', null],
    ['[::1', null],
    ['', null],
    ['x'.repeat(254), null],
  ])('%j → %j', (raw, expected) => {
    expect(normalizeHost(raw)).toBe(expected);
  });
});

describe('scrubSecrets', () => {
  it('masks the secret in clear, base64 and AUTH PLAIN forms', () => {
    const secret = 'Hunter2-pass';
    const plain = Buffer.from(`\0user\0${secret}`).toString('base64');
    const text = `C: ${secret} ${Buffer.from(secret).toString('base64')} AUTH PLAIN ${plain}`;
    expect(scrubSecrets(text, [secret])).toBe(
      `C: ${PASSWORD_MASK} ${PASSWORD_MASK} AUTH PLAIN ${PASSWORD_MASK}`,
    );
  });
});
