import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { CREDENTIAL_FIELDS, LOG_REDACT_PATHS, REDACTED } from '../../src/security/redact.js';

/** A destination that keeps every line written to it. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** An object with `value` at `path` ('*' becomes a key named "any"; ["x-y"] brackets allowed). */
function objectAt(path: string, value: string): Record<string, unknown> {
  const keys = [...path.matchAll(/\["([^"]+)"\]|([^.[\]]+)/g)].map((m) => (m[1] ?? m[2]) as string);
  return keys.reduceRight<unknown>((inner, key) => ({ [key === '*' ? 'any' : key]: inner }), value) as Record<
    string,
    unknown
  >;
}

describe('createLogger', () => {
  it('prints "****" for a credential at every LOG_REDACT_PATHS path', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    const canaries = LOG_REDACT_PATHS.map((path, i) => {
      const canary = `canary-${i}-Zq9x`;
      logger.info(objectAt(path, canary), 'credential logged');
      return canary;
    });
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(LOG_REDACT_PATHS.length);
    for (const canary of canaries) expect(out.text()).not.toContain(canary);
    for (const line of lines) expect(line).toContain(`"${REDACTED}"`);
  });

  it('covers each field at the top level and three levels down, in arrays and in child bindings', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    for (const field of CREDENTIAL_FIELDS) {
      const canary = `canary-${field}-Q7`;
      logger.info({
        [field]: canary,
        a: { [field]: canary, b: { [field]: canary, c: { [field]: canary } } },
      });
      logger.info({ accounts: [{ incoming: { [field]: canary } }] });
      logger.child({ [field]: canary, probe: { [field]: canary } }).warn('child');
      logger
        .child({ account: 1 })
        .child({ nested: { [field]: canary } })
        .warn('grandchild');
      expect(out.text()).not.toContain(canary);
    }
    logger.info({ PASSWORD: 'canary-upper', smtp_password: 'canary-snake', 'client-secret': 'canary-kebab' });
    // Mailmon's real shapes: nodemailer/imapflow options and an HTTP request.
    logger.info({ transport: { auth: { user: 'bob', pass: 'canary-pass' } } });
    logger.info({ req: { headers: { authorization: 'Basic Y2FuYXJ5', cookie: 'sid=canary-sid' } } });
    expect(out.text()).not.toMatch(/canary-upper|canary-snake|canary-kebab|canary-pass|Y2FuYXJ5|canary-sid/);
    expect(out.text()).toContain('"user":"bob"');
  });

  it('strips URL credentials from error messages, stacks, fields, causes and messages', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    const url = 'mysql://root:canary-db@127.0.0.1:3306/mailmon';
    const cause = new Error(`connect ${url} refused`);
    const error = Object.assign(new Error(`pool failed for ${url}`, { cause }), {
      code: 'ECONNREFUSED',
      details: { target: url },
      config: { auth: { user: 'bob', pass: 'canary-errpass' } },
    });
    logger.error(error);
    logger.error({ err: error }, `while using ${url}`);
    logger.warn(new AggregateError([new Error(`a ${url}`)], 'all failed'));
    logger.info('configured smtp://bob:canary-smtp@mail.example.com:587');
    logger.info({ err: { message: `plain object ${url}` } });
    logger.info({ msg: `object msg ${url}`, account: 7 });
    const text = out.text();
    expect(text).not.toMatch(/canary-db|canary-smtp|canary-errpass/);
    expect(text).toContain('pool failed for mysql://127.0.0.1:3306/mailmon');
    expect(text).toContain('"code":"ECONNREFUSED"');
    expect(text).toContain('"msg":"while using mysql://127.0.0.1:3306/mailmon"');
    // The caller's error is not rewritten by logging it.
    expect(error.details.target).toBe(url);
    expect(error.config.auth.pass).toBe('canary-errpass');
    expect(error.message).toContain('canary-db');
  });

  it('writes pretty lines with the same redaction when asked', async () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: true, destination: out.stream });
    logger.info({ account: { smtpPassword: 'canary-pretty' } }, 'via smtp://u:canary-url@h');
    await tick();
    expect(out.text()).toContain('via smtp://h');
    expect(out.text()).toContain(REDACTED);
    expect(out.text()).not.toMatch(/canary-pretty|canary-url|^\{/);
  });

  it('respects the level', () => {
    const out = capture();
    const logger = createLogger({ level: 'warn', pretty: false, destination: out.stream });
    logger.info('hidden');
    logger.warn('shown');
    expect(out.text()).not.toContain('hidden');
    expect(out.text()).toContain('shown');
  });
});
