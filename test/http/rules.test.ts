// Pure rules behind the API: ad-hoc trust and what a client may see of an error. (The save rules
// are tested in test/accounts/save-rules.test.ts.)
import { describe, expect, it } from 'vitest';
import { withExtraCa } from '../../src/checks/extra-ca.js';
import { ApiError, toErrorBody } from '../../src/http/errors.js';
import type { ProbeTarget } from '../../src/probes/types.js';

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
