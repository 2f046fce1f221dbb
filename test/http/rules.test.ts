// Pure rules behind the API: write-only passwords, where a kept password may go, ad-hoc trust, and
// what a client may see of an error.
import { describe, expect, it } from 'vitest';
import type { ServiceAuth } from '../../src/accounts/types.js';
import { keepsPassword } from '../../src/accounts/superoffice-schema.js';
import {
  checkKeptPassword,
  redirectsStoredPassword,
  toAccountInput,
} from '../../src/http/api/credentials.js';
import { withExtraCa } from '../../src/checks/extra-ca.js';
import { ApiError, toErrorBody } from '../../src/http/errors.js';
import type { ProbeTarget } from '../../src/probes/types.js';

const stored: ServiceAuth = {
  serviceAuthId: 1,
  server: 'imap.example.test',
  port: 993,
  authType: 'password',
  username: 'alice',
  password: 'stored-pw',
  security: 'tls',
  acceptUnverifiedCert: false,
  caPem: null,
};

describe('write-only passwords', () => {
  it('absent, empty and the mask keep the stored password; anything else replaces it', () => {
    expect([undefined, '', '****'].map(keepsPassword)).toEqual([true, true, true]);
    expect(['x', '*****', ' ****'].map(keepsPassword)).toEqual([false, false, false]);
  });

  it.each([
    [{}, null],
    [{ server: 'IMAP.example.test' }, null], // host names compare case-insensitively
    [{ security: 'starttls' }, null],
    [{ server: 'evil.example.test' }, 'server'],
    [{ port: 143 }, 'port'],
    [{ username: 'Alice' }, 'username'],
    [{ security: 'none' }, 'security'],
    [{ acceptUnverifiedCert: true }, 'acceptUnverifiedCert'],
    [{ caPem: '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----' }, 'caPem'],
  ] as const)('changing %j while keeping the password: %s', (change, reason) => {
    expect(redirectsStoredPassword(stored, { ...stored, ...change })).toBe(reason);
  });

  it('checkKeptPassword: a new side needs a password; a redirected one needs it again', () => {
    const next = { ...stored, password: undefined };
    expect(() => checkKeptPassword('incoming.password', stored, next)).not.toThrow();
    expect(() => checkKeptPassword('incoming.password', stored, { ...next, password: 'new' })).not.toThrow();
    expect(() => checkKeptPassword('incoming.password', null, next)).toThrow(
      expect.objectContaining({
        statusCode: 400,
        message: 'incoming.password: is required for new credentials',
      }),
    );
    expect(() => checkKeptPassword('x.Password', stored, { ...next, port: 1 })).toThrow(
      /^x\.Password: is required when port changes/,
    );
    expect(() => checkKeptPassword('incoming.password', stored, null)).not.toThrow();
  });

  it('toAccountInput defaults security from the port and maps a kept password to undefined', () => {
    const input = toAccountInput(
      {
        emailAddress: 'a@example.test',
        associateId: 0,
        incoming: {
          server: 's',
          port: 993,
          authType: 'password',
          username: 'u',
          password: '****',
          acceptUnverifiedCert: false,
          caPem: null,
        },
        outgoing: {
          server: 's',
          port: 587,
          authType: 'login',
          username: 'u',
          password: 'pw',
          acceptUnverifiedCert: true,
          caPem: null,
        },
      },
      { emailAccountId: 9, incoming: { ...stored, server: 's', username: 'u' }, outgoing: null } as never,
    );
    expect(input).toMatchObject({
      emailAccountId: 9,
      incoming: { security: 'tls', password: undefined },
      outgoing: { security: 'starttls', password: 'pw', authType: 'login', acceptUnverifiedCert: true },
    });
  });
});

describe('ad-hoc trust', () => {
  it('withExtraCa fills only targets without a CA of their own', () => {
    const target = { protocol: 'smtp', host: 'h', port: 1 } as ProbeTarget;
    const own = { ...target, caPem: 'OWN' };
    expect(withExtraCa([target, own], 'EXTRA').map((t) => t.caPem)).toEqual(['EXTRA', 'OWN']);
    expect(withExtraCa([target], undefined)[0]).not.toHaveProperty('caPem');
  });
});

describe('toErrorBody', () => {
  const options = { bodyLimitBytes: 1000 };

  it('passes deliberate errors and 4xx through; hides everything else', () => {
    expect(toErrorBody(new ApiError(409, 'conflict here'), options)).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'conflict here',
    });
    expect(
      toErrorBody(Object.assign(new Error('Not Acceptable thing'), { statusCode: 406 }), options)?.statusCode,
    ).toBe(406);
    expect(toErrorBody(new Error('ECONNREFUSED db at 10.0.0.1 password=x'), options)).toBeNull();
    expect(toErrorBody(Object.assign(new Error('boom'), { statusCode: 503 }), options)).toBeNull();
    expect(toErrorBody('a string', options)).toBeNull();
    expect(toErrorBody(null, options)).toBeNull();
  });

  it('never quotes a JSON parse error, which would repeat the body', () => {
    const syntax = Object.assign(new SyntaxError('Unexpected token p in JSON: "password":"hunter2"'), {
      statusCode: 400,
    });
    expect(toErrorBody(syntax, options)?.message).toBe('request body is not valid JSON');
  });

  it('names the limit for an oversized body', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      statusCode: 413,
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    });
    expect(toErrorBody(tooLarge, options)?.message).toBe(
      'request body is larger than 1000 bytes (http.bodyLimitBytes)',
    );
  });
});
