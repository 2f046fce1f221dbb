import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CREDENTIAL_FIELDS,
  isCredentialField,
  redactCredentials,
  REDACTED,
  scrubSecrets,
  stripUrlCredentials,
} from '../../src/security/redact.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Passwords as users pick them: printable ASCII with every special character, and any Unicode. */
const password = fc.oneof(
  fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~aZ09'), minLength: 4 }),
  fc.string({ unit: 'grapheme', minLength: 4 }),
  fc.string({ unit: 'binary', minLength: 4 }).filter((s) => Buffer.from(s).toString() === s), // no lone surrogates
  fc.stringMatching(/^[A-Za-z0-9]{4,40}$/),
);
const user = fc.oneof(fc.emailAddress(), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }));

/** Every wire and log form of a credential, each labelled with the exact text that must disappear. */
function encodedForms(username: string, secret: string): Record<string, string> {
  const xoauth2 = b64(`user=${username}\x01auth=Bearer ${secret}\x01\x01`);
  return {
    literal: secret,
    base64: b64(secret),
    base64url: Buffer.from(secret).toString('base64url'),
    authPlain: b64(`\0${username}\0${secret}`),
    authPlainAuthzid: b64(`${username}\0${username}\0${secret}`),
    xoauth2,
    uriComponent: encodeURIComponent(secret),
    formEncoded: new URLSearchParams({ p: secret }).toString().slice(2),
    json: JSON.stringify(secret).slice(1, -1),
  };
}

describe('scrubSecrets', () => {
  it('masks the literal, URL-encoded, JSON and every base64 form (AUTH PLAIN, XOAUTH2) of any password', () => {
    fc.assert(
      fc.property(user, password, (username, secret) => {
        const forms = encodedForms(username, secret);
        const transcript = [
          `C: AUTH PLAIN ${forms.authPlain}`,
          `C: A1 AUTHENTICATE PLAIN ${forms.authPlainAuthzid}`,
          `C: AUTH XOAUTH2 ${forms.xoauth2}`,
          `C: ${forms.base64}`,
          `token=${forms.base64url};`,
          `url: smtp://u:${forms.uriComponent}@h/ form: p=${forms.formEncoded}`,
          JSON.stringify({ line: `PASS ${secret} done` }),
        ].join('\n');
        const out = scrubSecrets(transcript, ['other-secret', secret]);
        for (const [name, form] of Object.entries(forms)) {
          expect(out.includes(form), `${name} form survived`).toBe(false);
        }
        expect(out).toContain(`C: AUTH PLAIN ${REDACTED}`);
        expect(out).toContain(`C: AUTH XOAUTH2 ${REDACTED}`);
      }),
      { numRuns: 300 },
    );
  });

  it('finds a base64 form glued to other base64 characters at any alignment', () => {
    const secret = 'Tr0ub4dor&3';
    for (const glue of ['', 'x', 'xy', 'xyz', 'wxyz']) {
      const out = scrubSecrets(`334 ${glue}${b64(`\0bob\0${secret}`)} end`, [secret]);
      expect(out).toBe(`334 ${REDACTED} end`);
    }
  });

  it('finds the base64 of a secret in a stream cut off right before or after it, at any alignment', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 12, maxLength: 40 }),
        fc.uint8Array({ maxLength: 9 }),
        fc.uint8Array({ maxLength: 9 }),
        fc.boolean(),
        (secret, before, after, urlSafe) => {
          const bytes = Buffer.from(secret, 'utf8');
          const stream = Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
          const encoded = stream.toString(urlSafe ? 'base64url' : 'base64');
          // Only the characters made of the secret's bits alone: no decoding yields the secret whole.
          const first = Math.ceil((before.length * 8) / 6);
          const last = Math.floor(((before.length + bytes.length) * 8) / 6);
          const fragment = encoded.slice(first, last);
          const out = scrubSecrets(`334 ${fragment} end`, [secret]);
          expect(out).toBe(`334 ${REDACTED} end`);
        },
      ),
    );
  });

  it('leaves text without the secrets unchanged and ignores empty secrets', () => {
    const text = 'AUTH PLAIN AGJvYgBodW50ZXIy and smtp://mail.example.com';
    expect(scrubSecrets(text, [])).toBe(text);
    expect(scrubSecrets(text, [''])).toBe(text);
    expect(scrubSecrets(text, ['not-in-there-7'])).toBe(text);
  });

  it('masks the longer of two overlapping secrets whole', () => {
    expect(scrubSecrets('pw=abc123456', ['abc', 'abc123456'])).toBe(`pw=${REDACTED}`);
  });
});

describe('stripUrlCredentials', () => {
  const cases: [string, string][] = [
    ['connect smtp://bob:s3cret@mail.example.com:587 failed', 'connect smtp://mail.example.com:587 failed'],
    ['smtps://bob%40example.com:p%2Fw@mail:465', 'smtps://mail:465'],
    ['imap://bob@example.com@imap.example.com/INBOX', 'imap://imap.example.com/INBOX'],
    ['mysql://root:p@ss/w@rd@db:3306/mailmon?ssl=true', 'mysql://db:3306/mailmon?ssl=true'],
    ['HTTPS://U:P@api.example.com/x http://a:b@c', 'HTTPS://api.example.com/x http://c'],
    ['{"url":"smtp://u:pw@h:25","to":"a@b.example"}', '{"url":"smtp://h:25","to":"a@b.example"}'],
    ["Error: connect to 'mysql://root:pw@127.0.0.1/db'", "Error: connect to 'mysql://127.0.0.1/db'"],
    ['https://example.com/users/a@b.example', 'https://example.com/users/a@b.example'],
    ['https://example.com/?to=a@b.example', 'https://example.com/?to=a@b.example'],
    ['mailto:a@b.example and user@host', 'mailto:a@b.example and user@host'],
    ['no url here', 'no url here'],
  ];
  it.each(cases)('%s', (input, expected) => {
    expect(stripUrlCredentials(input)).toBe(expected);
  });

  it('removes any unencoded user:password from any scheme', () => {
    const scheme = fc.constantFrom('smtp', 'smtps', 'imap', 'imaps', 'mysql', 'http', 'https', 'redis');
    const userPart = fc.string({ unit: fc.constantFrom(...'abcXYZ019.-_%+!$'), minLength: 1 });
    const passPart = fc.string({ unit: fc.constantFrom(...'abcXYZ019@/:?#%+!$&=;,.~-_'), minLength: 1 });
    const host = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/);
    fc.assert(
      fc.property(scheme, userPart, passPart, host, (s, u, p, h) => {
        expect(stripUrlCredentials(`x ${s}://${u}:${p}@${h}:25 y`)).toBe(`x ${s}://${h}:25 y`);
      }),
      { numRuns: 500 },
    );
  });
});

describe('redactCredentials', () => {
  it('masks credential fields at any depth and case, strips URL credentials, and leaves the input alone', () => {
    const input = {
      id: 7,
      when: new Date(0),
      incoming: { username: 'bob', Password: 'pw1', tokens: [{ access_token: 'tok', scope: 'imap' }] },
      SMTP_PASSWORD: 'pw2',
      note: 'via smtps://bob:pw3@mail.example.com',
      empty: { password: null },
    };
    const before = structuredClone(input);
    expect(redactCredentials(input)).toEqual({
      id: 7,
      when: new Date(0),
      incoming: { username: 'bob', Password: REDACTED, tokens: [{ access_token: REDACTED, scope: 'imap' }] },
      SMTP_PASSWORD: REDACTED,
      note: 'via smtps://mail.example.com',
      empty: { password: null },
    });
    expect(input).toEqual(before);
  });

  it('returns the same object when nothing needs redacting, and masks what is nested too deep', () => {
    const clean = { a: [1, 'two', { three: true }], b: Buffer.from('x') };
    expect(redactCredentials(clean)).toBe(clean);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10; i++) deep = { next: deep };
    expect(JSON.stringify(redactCredentials(deep))).toBe(
      `${'{"next":'.repeat(8)}"${REDACTED}"${'}'.repeat(8)}`,
    );
  });

  it('knows every field name it claims', () => {
    for (const field of CREDENTIAL_FIELDS) expect(isCredentialField(field)).toBe(true);
    for (const field of ['username', 'server', 'passwordChangedAt', 'tokenCount']) {
      expect(isCredentialField(field)).toBe(false);
    }
  });
});
