// Oracle Commerce testSmtpConnection over real HTTP against real SMTP servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { oracleCommerceRoutes } from '../../../src/http/compat/index.js';
import { startSmtpServer, type TestSmtpServer } from '../../peers/smtp.js';
import {
  createProbeRunner,
  leakedSecrets,
  startCompatServer,
  testOnlyDeps,
  type CompatServer,
  type ProbeRunner,
} from './helpers.js';

const USER = 'store@example.test';
const PASS = 'Oracle-S3cret-pw-2231';
const WRONG = 'Oracle-Wrong-pw-7782';
const PATH = '/ccadmin/v1/email/test';

describe('Oracle Commerce compat', () => {
  let relay: TestSmtpServer;
  let submissions: TestSmtpServer;
  let probes: ProbeRunner;
  let server: CompatServer;

  beforeAll(async () => {
    // The documented sample has no credentials: a relay on "port 25" that does STARTTLS.
    [relay, submissions] = await Promise.all([
      startSmtpServer({ users: [], authOptional: true }),
      startSmtpServer({ users: [{ user: USER, pass: PASS }], secure: true }),
    ]);
    probes = createProbeRunner(relay.caPem);
    server = await startCompatServer(oracleCommerceRoutes, testOnlyDeps(probes));
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([relay?.stop(), submissions?.stop()]);
  });

  afterAll(() => {
    expect(leakedSecrets(server.bodies, [PASS, WRONG])).toEqual([]);
  });

  it('answers the documented sample (TLS = STARTTLS, no credentials) with {"status": true}', async () => {
    const res = await server.post(PATH, {
      emailSMTPPort: String(relay.port),
      emailSMTPHost: '127.0.0.1',
      emailSMTPAuthMethod: 'TLS',
      emailSMTPPassword: '',
      emailSMTPUsername: '',
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: true });
    expect(probes.calls.at(-1)).toEqual([
      expect.objectContaining({
        protocol: 'smtp',
        host: '127.0.0.1',
        port: relay.port,
        security: 'starttls',
        username: '',
      }),
    ]);
  });

  it('SSL is implicit TLS, and AUTH uses the given credentials', async () => {
    const res = await server.post(PATH, {
      emailSMTPPort: String(submissions.port),
      emailSMTPHost: '127.0.0.1',
      emailSMTPAuthMethod: 'SSL',
      emailSMTPPassword: PASS,
      emailSMTPUsername: USER,
    });
    expect(res.json).toEqual({ status: true });
    expect(submissions.authAttempts.at(-1)).toEqual({ method: 'PLAIN', user: USER, ok: true });
  });

  it('a refused password is {"status": false}', async () => {
    const res = await server.post(PATH, {
      emailSMTPPort: String(submissions.port),
      emailSMTPHost: '127.0.0.1',
      emailSMTPAuthMethod: 'SSL',
      emailSMTPPassword: WRONG,
      emailSMTPUsername: USER,
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: false });
  });

  const sample = {
    emailSMTPPort: '25',
    emailSMTPHost: '127.0.0.1',
    emailSMTPAuthMethod: 'TLS',
    emailSMTPPassword: PASS,
    emailSMTPUsername: USER,
  };
  it.each([
    ['a port that is not digits', { emailSMTPPort: 'twenty-five' }, 'emailSMTPPort'],
    ['a port out of range', { emailSMTPPort: '65536' }, 'emailSMTPPort'],
    ['a port as a JSON number', { emailSMTPPort: 25 }, 'emailSMTPPort'],
    ['an unknown auth method', { emailSMTPAuthMethod: 'STARTTLS' }, 'emailSMTPAuthMethod'],
    ['CR/LF in the host', { emailSMTPHost: 'mail.example.test\r\nQUIT' }, 'emailSMTPHost'],
    ['a space in the host', { emailSMTPHost: 'mail example.test' }, 'emailSMTPHost'],
    ['a missing host', { emailSMTPHost: undefined }, 'emailSMTPHost'],
  ])('%s gets the errorModel with HTTP 400 naming the field', async (_name, change, field) => {
    const calls = probes.calls.length;
    const res = await server.post(PATH, { ...sample, ...change });
    expect(res.status).toBe(400);
    const body = res.json as {
      status: string;
      errorCode: string;
      message: string;
      errors: Record<string, string>[];
    };
    expect(body).toMatchObject({ status: '400', errorCode: expect.stringMatching(/^\d+$/) });
    expect(body.message).toContain(`${field}:`);
    expect(body.errors).toContainEqual(expect.objectContaining({ status: '400', 'o:errorPath': field }));
    expect(probes.calls.length).toBe(calls); // nothing was probed
  });

  it('a JSON array body is a 400 errorModel, not a 500', async () => {
    const res = await server.post(PATH, [sample]);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ status: '400' });
  });
});
