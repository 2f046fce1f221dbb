// The dealer API's batch credentials test over real HTTP, against Dovecot (IMAP) and smtp-server.
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { dealerRoutes } from '../../../src/http/compat/index.js';
import { startDovecot, type Dovecot } from '../../peers/dovecot.js';
import { describeWithPeer } from '../../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../../peers/smtp.js';
import {
  createProbeRunner,
  leakedSecrets,
  startCompatServer,
  testOnlyDeps,
  type CompatServer,
  type ProbeRunner,
} from './helpers.js';

const USER = 'dealer.one@example.test';
const PASS = 'Dealer-S3cret-pw-5150';
const SHARED_WRONG = 'Dealer-Wrong-Shared-8841';
const PLAIN_PASS = 'Dealer-Plain-pw-3307';
const DEALER: string = randomUUID();
const path = (dealer = DEALER) => `/dealers/${dealer}/email-credentials/test`;

interface EntryResponse extends Record<string, unknown> {
  outcome: string;
  serverLogs: string;
  testDuration: string;
  error: string;
  errors: { errorCode: string; errorDescription: string; errorUID: string }[];
  warnings: { warningCode: string; warningDescription: string }[];
}

describeWithPeer('dovecot', 'dealer API compat', () => {
  let dovecot: Dovecot;
  let submission: TestSmtpServer;
  let relay: TestSmtpServer;
  let plain: TestSmtpServer;
  let probes: ProbeRunner;
  let server: CompatServer;

  beforeAll(async () => {
    [dovecot, submission, relay, plain] = await Promise.all([
      startDovecot({ users: [{ user: USER, pass: PASS }] }),
      startSmtpServer({ users: [{ user: USER, pass: PASS }] }),
      startSmtpServer({ users: [], authOptional: true }),
      startSmtpServer({
        users: [{ user: USER, pass: PLAIN_PASS }],
        hideSTARTTLS: true,
        allowInsecureAuth: true,
      }),
    ]);
    probes = createProbeRunner(dovecot.caPem);
    server = await startCompatServer(dealerRoutes, testOnlyDeps(probes));
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([dovecot?.stop(), submission?.stop(), relay?.stop(), plain?.stop()]);
  });

  afterAll(() => {
    expect(leakedSecrets(server.bodies, [PASS, SHARED_WRONG, PLAIN_PASS])).toEqual([]);
  });

  it('tests a batch in one concurrent call and answers in the documented shape, passwords masked', async () => {
    const calls = probes.calls.length;
    const res = await server.post(path(), {
      emailCredentialsRequests: [
        {
          imapUserID: USER,
          imapHost: '127.0.0.1',
          imapPort: String(dovecot.imapsPort),
          smtpUserID: USER,
          smtpPassword: PASS,
          smtpHost: '127.0.0.1',
          smtpPort: String(submission.port),
          smtpEnableStartTLS: 'true',
          smtpUseAuth: 'true',
          imapUseSSLOrTLS: 'true',
          imapEnableStartTLS: 'false',
          smtpUseSSLOrTLS: 'false',
          dealerEmail: USER,
          accountType: 'SERVICE',
          password: PASS,
          orgName: 'Example Motors',
          credentialsType: 'CUSTOM',
          imapPassword: PASS,
        },
        // IMAP only, over STARTTLS, with the shared `password` (wrong) standing in for imapPassword.
        {
          imapHost: '127.0.0.1',
          imapPort: String(dovecot.imapPort),
          imapEnableStartTLS: 'true',
          dealerEmail: USER,
          password: SHARED_WRONG,
          smtpHost: '',
        },
        // SMTP without AUTH, the way a relay is tested.
        {
          smtpHost: '127.0.0.1',
          smtpPort: String(relay.port),
          smtpUseAuth: 'false',
          smtpEnableStartTLS: 'true',
        },
        // Plain text with AUTH: works, with a warning.
        {
          smtpHost: '127.0.0.1',
          smtpPort: String(plain.port),
          smtpUserID: USER,
          smtpPassword: PLAIN_PASS,
          smtpUseSSLOrTLS: 'false',
          smtpEnableStartTLS: 'false',
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(probes.calls.length).toBe(calls + 1);
    expect(probes.calls.at(-1)?.map((t) => `${t.protocol}/${t.security}`)).toEqual([
      'smtp/starttls',
      'imap/tls',
      'imap/starttls',
      'smtp/starttls',
      'smtp/none',
    ]);

    const body = res.json as {
      emailCredentialsResponses: EntryResponse[];
      errors: unknown[];
      warnings: unknown[];
    };
    expect(body.errors).toEqual([]);
    expect(body.warnings).toEqual([]);
    const [good, badImap, relayed, plainText] = body.emailCredentialsResponses as [
      EntryResponse,
      EntryResponse,
      EntryResponse,
      EntryResponse,
    ];

    expect(Object.keys(good)).toEqual([
      'serverLogs', 'outcome', 'testDuration', 'credentialsType', 'error', 'password', 'imaphost', 'imapport',
      'smtpuserID', 'smtppassword', 'smtphost', 'smtpport', 'smtpuseSSLOrTLS', 'smtpenableStartTLS', 'smtpuseAuth',
      'imapuseSSLOrTLS', 'imapenableStartTLS', 'accountType', 'imapuserID', 'imappassword', 'dealerEmail', 'errors', 'warnings',
    ]); // prettier-ignore
    expect(good).toMatchObject({
      outcome: 'SUCCESS',
      error: '',
      errors: [],
      warnings: [],
      password: '****',
      smtppassword: '****',
      imappassword: '****',
      smtphost: '127.0.0.1',
      smtpport: String(submission.port),
      smtpuserID: USER,
      imapuserID: USER,
      smtpuseAuth: 'true',
      imapuseSSLOrTLS: 'true',
      credentialsType: 'CUSTOM',
      accountType: 'SERVICE',
      dealerEmail: USER,
    });
    expect(good.testDuration).toMatch(/^\d+$/);
    expect(good.serverLogs).toMatch(/^SMTP S: 220/m);
    expect(good.serverLogs).toMatch(/^IMAP /m);

    expect(badImap.outcome).toBe('FAILURE');
    expect(badImap.password).toBe('****');
    expect(badImap.smtphost).toBeNull();
    expect(badImap.errors).toEqual([
      {
        errorCode: 'IMAP_AUTH_REJECTED',
        errorDescription: expect.stringMatching(new RegExp(`IMAP.*127\\.0\\.0\\.1:${dovecot.imapPort}`)),
        errorUID: expect.any(String),
      },
    ]);
    expect(badImap.error).toBe(badImap.errors[0]?.errorDescription);

    expect(relayed).toMatchObject({
      outcome: 'SUCCESS',
      smtpuseAuth: 'false',
      smtppassword: null,
      password: null,
    });
    expect(relay.authAttempts).toEqual([]);

    expect(plainText).toMatchObject({
      outcome: 'SUCCESS',
      warnings: [{ warningCode: 'SMTP_PLAINTEXT_AUTH', warningDescription: expect.any(String) }],
    });
    expect(plain.authAttempts.at(-1)).toEqual({ method: 'PLAIN', user: USER, ok: true });
  });

  const entry = { smtpHost: '127.0.0.1', smtpPort: '587', smtpUserID: USER, smtpPassword: PASS };
  it.each([
    ['a port that is not digits', { smtpPort: 'smtp' }, 'emailCredentialsRequests.0.smtpPort'],
    ['a port out of range', { smtpPort: '0' }, 'emailCredentialsRequests.0.smtpPort'],
    ['a port as a JSON number', { smtpPort: 587 }, 'emailCredentialsRequests.0.smtpPort'],
    ['a boolean as a JSON boolean', { smtpUseAuth: true }, 'emailCredentialsRequests.0.smtpUseAuth'],
    [
      'a boolean that is not true/false',
      { smtpEnableStartTLS: 'yes' },
      'emailCredentialsRequests.0.smtpEnableStartTLS',
    ],
    ['a space in the host', { smtpHost: 'smtp example.test' }, 'emailCredentialsRequests.0.smtpHost'],
    [
      'CR/LF in the host',
      { imapHost: 'imap.example.test\r\nA1 LOGOUT', imapUserID: USER },
      'emailCredentialsRequests.0.imapHost',
    ],
    ['neither host', { smtpHost: undefined }, 'emailCredentialsRequests.0.smtpHost'],
    ['IMAP without a user', { imapHost: '127.0.0.1' }, 'emailCredentialsRequests.0.imapUserID'],
  ])('%s gets HTTP 400 in the API error shape naming the field', async (_name, change, field) => {
    const calls = probes.calls.length;
    const res = await server.post(path(), { emailCredentialsRequests: [{ ...entry, ...change }] });
    expect(res.status).toBe(400);
    const body = res.json as {
      emailCredentialsResponses: unknown[];
      errors: { errorCode: string; errorDescription: string }[];
    };
    expect(body.emailCredentialsResponses).toEqual([]);
    expect(body.errors.map((e) => e.errorDescription)).toContainEqual(
      expect.stringMatching(new RegExp(`^${field.replace(/\./g, '\\.')}: `)),
    );
    expect(body.errors[0]).toMatchObject({
      errorCode: 'INVALID_REQUEST',
      errorUID: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(probes.calls.length).toBe(calls);
  });

  it.each([
    [
      'a dealerUUID that is not a UUID',
      path('not-a-uuid'),
      { emailCredentialsRequests: [entry] },
      'path.dealerUUID',
    ],
    ['an empty batch', path(), { emailCredentialsRequests: [] }, 'emailCredentialsRequests'],
    ['a missing batch', path(), { emailCredentialsRequest: [entry] }, 'emailCredentialsRequests'],
    [
      'a batch over the limit',
      path(),
      { emailCredentialsRequests: Array.from({ length: 51 }, () => entry) },
      'emailCredentialsRequests',
    ],
  ])('%s gets HTTP 400 naming it', async (_name, url, body, field) => {
    const res = await server.post(url, body);
    expect(res.status).toBe(400);
    const json = res.json as { errors: { errorDescription: string }[] };
    expect(json.errors[0]?.errorDescription).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: `));
  });
});
