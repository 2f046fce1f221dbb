// Pure redaction logic: the structural mask for credential-carrying protocol lines, and the probes'
// value scrubber (the shared one in security/redact.ts, whose own tests cover every spelling) that
// finds a secret in its clear, SASL and base64 spellings anywhere in a string.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLineRedactor, scrubError } from '../../src/probes/redact.js';
import { createSecretScrubber as createScrubber, REDACTED as MASK } from '../../src/security/redact.js';
import { scrubSecrets } from '../../src/security/redact.js';
import {
  createTranscript,
  MAX_TRANSCRIPT_LINE_CHARS,
  MAX_TRANSCRIPT_LINES,
} from '../../src/probes/transcript.js';

describe('IMAP line redactor', () => {
  it('masks LOGIN arguments, AUTHENTICATE initial responses and SASL continuations until the tagged reply', () => {
    const r = createLineRedactor('imap');
    expect(r.client('1 CAPABILITY')).toBe('1 CAPABILITY');
    expect(r.client('2 LOGIN "alice" "hunter2"')).toBe('2 LOGIN ****');
    expect(r.client('3 AUTHENTICATE PLAIN AGFsaWNlAGh1bnRlcjI=')).toBe('3 AUTHENTICATE PLAIN ****');
    expect(r.server('3 NO [AUTHENTICATIONFAILED] failed')).toBe('3 NO [AUTHENTICATIONFAILED] failed');
    expect(r.client('4 AUTHENTICATE LOGIN')).toBe('4 AUTHENTICATE LOGIN');
    expect(r.server('+ VXNlcm5hbWU6')).toBe('+ VXNlcm5hbWU6');
    expect(r.client('YWxpY2U=')).toBe(MASK);
    expect(r.server('+ UGFzc3dvcmQ6')).toBe('+ UGFzc3dvcmQ6');
    expect(r.client('aHVudGVyMg==')).toBe(MASK);
    expect(r.server('4 OK Logged in')).toBe('4 OK Logged in');
    expect(r.client('5 EXAMINE INBOX')).toBe('5 EXAMINE INBOX');
  });
});

describe('SMTP line redactor', () => {
  it('masks AUTH arguments and every client line until a non-334 reply', () => {
    const r = createLineRedactor('smtp');
    expect(r.client('EHLO mailmon.invalid')).toBe('EHLO mailmon.invalid');
    expect(r.client('AUTH XOAUTH2 dXNlcj1ib2IBYXV0aD1CZWFyZXIgdG9rZW4BAQ==')).toBe('AUTH XOAUTH2 ****');
    expect(r.server('334 eyJzdGF0dXMiOiI0MDEifQ==')).toBe('334 eyJzdGF0dXMiOiI0MDEifQ==');
    expect(r.client('')).toBe(MASK);
    expect(r.server('535 5.7.8 failed')).toBe('535 5.7.8 failed');
    expect(r.client('AUTH LOGIN')).toBe('AUTH LOGIN');
    expect(r.server('334 VXNlcm5hbWU6')).toBe('334 VXNlcm5hbWU6');
    expect(r.client('Ym9i')).toBe(MASK);
    expect(r.server('235 2.7.0 ok')).toBe('235 2.7.0 ok');
    expect(r.client('MAIL FROM:<bob@example.test>')).toBe('MAIL FROM:<bob@example.test>');
  });
});

describe('secret scrubber', () => {
  it('replaces the secret in clear, SASL PLAIN and XOAUTH2 base64', () => {
    const scrub = createScrubber(['s3cret-Value!']);
    const plain = Buffer.from('\u0000bob\u0000s3cret-Value!').toString('base64');
    const xoauth = Buffer.from('user=bob\u0001auth=Bearer s3cret-Value!\u0001\u0001').toString('base64');
    expect(scrub(`pw s3cret-Value! / ${plain} / ${xoauth}`)).toBe(`pw ${MASK} / ${MASK} / ${MASK}`);
  });

  it('finds the secret inside any base64 stream, whatever its byte offset', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 12, maxLength: 40 }),
        fc.uint8Array({ maxLength: 9 }),
        fc.uint8Array({ maxLength: 9 }),
        (secret, before, after) => {
          const scrub = createScrubber([secret]);
          const encoded = Buffer.concat([
            Buffer.from(before),
            Buffer.from(secret, 'utf8'),
            Buffer.from(after),
          ]).toString('base64');
          const clean = scrub(encoded);
          expect(clean).toContain(MASK);
          expect(clean).not.toContain(Buffer.from(secret, 'utf8').toString('base64').slice(4, -4));
        },
      ),
    );
  });

  it('an empty secret scrubs nothing', () => {
    expect(createScrubber([''])('anything')).toBe('anything');
    expect(createScrubber([])('anything')).toBe('anything');
  });

  it('is the shared scrubber: the same output as scrubSecrets for any text and secrets', () => {
    const secret = fc.string({ minLength: 1, maxLength: 24 });
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    fc.assert(
      fc.property(fc.array(secret, { maxLength: 3 }), fc.string(), (secrets, noise) => {
        const text = [
          noise,
          ...secrets.map((s) => `C: ${b64(`\0u\0${s}`)} ${s} ${encodeURIComponent(s)}`),
        ].join('\n');
        expect(createScrubber(secrets)(text)).toBe(scrubSecrets(text, secrets));
      }),
    );
  });

  it('scrubs an error chain in place: message, stack, string properties, cause', () => {
    const scrub = createScrubber(['topsecret-123']);
    const inner = Object.assign(new Error('server said topsecret-123'), {
      response: '535 bad topsecret-123',
    });
    const outer = new Error('failed: topsecret-123', { cause: inner });
    scrubError(outer, scrub);
    expect(outer.message).toBe(`failed: ${MASK}`);
    expect(outer.stack).not.toContain('topsecret-123');
    expect(inner.message).toBe(`server said ${MASK}`);
    expect(inner.response).toBe(`535 bad ${MASK}`);
  });
});

describe('transcript', () => {
  it('keeps the last lines only, each cut short, and redacts as it records', () => {
    const t = createTranscript('smtp', createScrubber(['pw-secret-1']), () => 5);
    t.client('AUTH PLAIN abc');
    t.server('235 ok pw-secret-1');
    for (let i = 0; i < MAX_TRANSCRIPT_LINES + 5; i++) t.server(`250 line ${i} ${'x'.repeat(600)}`);
    const lines = t.lines();
    expect(lines).toHaveLength(MAX_TRANSCRIPT_LINES);
    expect(lines[0]?.line.startsWith('250 line 5 ')).toBe(true);
    expect(lines.every((l) => l.line.length <= MAX_TRANSCRIPT_LINE_CHARS)).toBe(true);
    const early = createTranscript('smtp', createScrubber(['pw-secret-1']), () => 5);
    early.client('AUTH PLAIN abc');
    early.server('235 ok pw-secret-1');
    expect(early.lines()).toEqual([
      { t: 5, dir: 'C', line: `AUTH PLAIN ${MASK}` },
      { t: 5, dir: 'S', line: `235 ok ${MASK}` },
    ]);
  });
});
