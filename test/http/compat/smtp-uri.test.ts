import { describe, expect, it } from 'vitest';

import { parseSmtpUri } from '../../../src/http/compat/smtp-uri.js';

describe('parseSmtpUri', () => {
  it.each([
    [
      'smtps://myuser:mypassword@smtp.myserver.com:465',
      { security: 'tls', host: 'smtp.myserver.com', port: 465, username: 'myuser', password: 'mypassword' },
    ],
    [
      'smtp://u:p@smtp.example.test:587',
      { security: 'starttls', host: 'smtp.example.test', port: 587, username: 'u', password: 'p' },
    ],
    ['smtps://smtp.example.test', { security: 'tls', port: 465, username: '', password: '' }],
    ['smtp://smtp.example.test', { security: 'starttls', port: 587 }],
    [
      'smtp://a%40b.test:p%3Aw%2F%25%40@[::1]:25/',
      { host: '::1', port: 25, username: 'a@b.test', password: 'p:w/%@' },
    ],
    [
      'SMTPS://U:P@Mail.Example.Test:465',
      { security: 'tls', host: 'mail.example.test', username: 'U', password: 'P' },
    ],
  ])('%s', (raw, expected) => {
    const parsed = parseSmtpUri(raw);
    expect(parsed).toMatchObject({ ok: true, uri: expected });
  });

  it.each([
    ['rerum', 'must be a URI'],
    ['imap://u:p@h:143', 'scheme'],
    ['smtp://u:p@h:0', 'port'],
    ['smtp://u:p@h:65536', 'must be a URI'],
    ['smtp://u:p@ho st:25', 'spaces'],
    ['smtp://u:p@host\r\n:25', 'line breaks'],
    ['smtp://u:p@host\t:25', 'control'],
    ['smtp://u:p@host:25/path', 'path'],
    ['smtp://u:%E0%A4%A@host:25', 'URL encoding'],
    ['smtp://u:a%0Db@host:25', 'line breaks'],
    ['smtp://u:p@ho%20st:25', 'host'],
  ])('refuses %s without repeating it', (raw, fragment) => {
    const parsed = parseSmtpUri(raw);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toContain(fragment);
    expect(parsed.message).not.toContain('u:p');
  });
});
