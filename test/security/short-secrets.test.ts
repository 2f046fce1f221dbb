// Secrets too short to matter as substrings (under MIN_ANYWHERE_CHARS characters) are masked where
// they stand whole, never as a piece of a word: a 1-letter password must not turn "egress policy"
// into "egress ****olicy", and must still never be echoed.
import { describe, expect, it } from 'vitest';
import { MIN_ANYWHERE_CHARS, REDACTED, scrubSecrets } from '../../src/security/redact.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe('short secrets', () => {
  const REASON = 'egress denied: 127.0.0.1 is loopback (add it to egress.allowCidrs to allow)';

  it.each(['p', 'o', 'e', 'lo', 'oopb', 'Cidr', '.0.', 'egress'.slice(0, MIN_ANYWHERE_CHARS - 1)])(
    'the secret %j leaves a sentence it only appears inside words of unchanged',
    (secret) => {
      expect(scrubSecrets(REASON, [secret])).toBe(REASON);
    },
  );

  it.each([
    ['p', '535 5.7.8 password p rejected', `535 5.7.8 password ${REDACTED} rejected`],
    ['p', 'user/p at host', `user/${REDACTED} at host`],
    ['p', 'p', REDACTED],
    ['p@1', 'login u p@1 failed; p@1!', `login u ${REDACTED} failed; ${REDACTED}!`],
    ['a b', 'pw=a+b&x=1', `pw=${REDACTED}&x=1`], // form encoding
    ['a"b', '{"pw":"a\\"b"}', `{"pw":"${REDACTED}"}`], // JSON escaping
    ['ü', 'pass ü.', `pass ${REDACTED}.`],
    ['ü', 'Müller', 'Müller'], // inside a word of another script too
  ])('the secret %j standing whole in %j is masked', (secret, text, expected) => {
    expect(scrubSecrets(text, [secret])).toBe(expected);
  });

  it.each([
    ['AUTH LOGIN', (s: string) => b64(s)],
    ['AUTH PLAIN', (s: string) => b64(`\0alice@example.test\0${s}`)],
    ['AUTH PLAIN with authzid', (s: string) => b64(`alice\0alice\0${s}`)],
    ['XOAUTH2', (s: string) => b64(`user=alice\x01auth=Bearer ${s}\x01\x01`)],
    ['HTTP Basic', (s: string) => b64(`alice:${s}`)],
  ])('a short secret in %s base64 is masked', (_name, encode) => {
    for (const secret of ['p', 'pw', 'pwd', 'Ab3?', 'x1y2z']) {
      const text = `C: ${encode(secret)} end`;
      expect(scrubSecrets(text, [secret]), secret).toBe(`C: ${REDACTED} end`);
    }
  });

  it('a short secret that is a whole word of the sentence is masked there: it is never echoed', () => {
    expect(scrubSecrets(REASON, ['to'])).toBe(
      `egress denied: 127.0.0.1 is loopback (add it ${REDACTED} egress.allowCidrs ${REDACTED} allow)`,
    );
  });

  it('a base64 word that merely decodes to bytes containing the short secret is kept', () => {
    // "cGxhaW4=" is base64("plain"): it contains the byte "p" and "pl", but is no credential.
    expect(scrubSecrets('250 AUTH cGxhaW4= ok', ['p', 'pl'])).toBe('250 AUTH cGxhaW4= ok');
  });

  it(`from ${MIN_ANYWHERE_CHARS} characters on a secret is masked inside words too`, () => {
    const secret = 'Hunt3r'.slice(0, MIN_ANYWHERE_CHARS).padEnd(MIN_ANYWHERE_CHARS, 'x');
    expect(scrubSecrets(`xx${secret}yy and ${secret}`, [secret])).toBe(`xx${REDACTED}yy and ${REDACTED}`);
  });
});
