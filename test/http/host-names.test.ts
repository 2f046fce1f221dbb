// Malformed host names (an empty label, a label starting or ending with "-", a label over 63
// characters) are refused with a 400 naming the field at every entry point, and at `accounts import`
// with exit code 2 and a sentence, instead of being stored and failing every check with config_invalid.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHost, normalizeHost } from '../../src/accounts/fields.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { parseHost } from '../../src/egress/address.js';
import { runCli } from '../helpers/cli.js';
import { saveEMailAccountEnvelope, testSmtpEnvelope, SAMPLE_TICKET } from './compat/soap-envelopes.js';
import { TOKEN, startApi, type ApiServer } from './helpers.js';

const LONG_LABEL = 'x'.repeat(64);
/** Each bad host with the sentence that must explain it. */
const BAD_HOSTS: [string, RegExp][] = [
  ['mail..example.test', /empty label/],
  ['.mail.example.test', /empty label/],
  ['-mail.example.test', /starts or ends with a hyphen/],
  ['mail-.example.test', /starts or ends with a hyphen/],
  ['mail.example-', /starts or ends with a hyphen/],
  [`${LONG_LABEL}.example.test`, /labels .* at most 63 characters/],
  [`mail.${LONG_LABEL}`, /labels .* at most 63 characters/],
];

describe('checkHost', () => {
  it.each(BAD_HOSTS)('refuses %j with a sentence that does not repeat it', (host, sentence) => {
    const checked = checkHost(host);
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.message).toMatch(sentence);
      expect(checked.message).not.toContain(host);
    }
  });

  it.each([
    'mail.example.test',
    'mail.example.test.',
    'a-b.example',
    '_smtp.example',
    `${'x'.repeat(63)}.example`,
    'xn--bcher-kva.example',
    '127.0.0.1',
    '2001:db8::1',
  ])('accepts %j', (host) => {
    expect(normalizeHost(host)).toBe(host);
  });

  it('refuses a bad label after IDN conversion and a malformed IPv6 literal', () => {
    expect(checkHost('bücher..example')).toMatchObject({ ok: false });
    expect(checkHost('1:::2')).toMatchObject({ ok: false, message: expect.stringMatching(/IPv6/) });
  });

  it('everything it accepts, the probes resolver accepts too', () => {
    for (const host of ['a.b', 'a..b', '-a', 'a.1', 'a.0x1', 'A.B.', '1.2.3.4.5']) {
      const checked = checkHost(host);
      if (checked.ok) expect(parseHost(checked.host).kind, host).not.toBe('invalid');
    }
  });
});

describe('every entry point refuses a malformed host name with a 400 naming the field', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApi({ tokens: [TOKEN, 'Tje0', SAMPLE_TICKET] });
  });
  afterAll(async () => {
    await api?.close();
  });

  const REST = { Authorization: 'Basic dGplMDpUamUw', Accept: 'application/json' };
  const SOAP = 'application/soap+xml; charset=utf-8';
  const side = (server: string) => ({ server, port: 993, username: 'u', password: 'Host-pw-7781' });

  /** [entry point, field named, request for a host] */
  const entryPoints: [string, string, (host: string) => Parameters<ApiServer['request']>][] = [
    [
      'POST /api/v1/accounts',
      'incoming.server',
      (host) => [
        'POST',
        '/api/v1/accounts',
        { body: { emailAddress: 'h@example.test', incoming: side(host) } },
      ],
    ],
    [
      'POST /api/v1/test',
      'outgoing.server',
      (host) => ['POST', '/api/v1/test', { body: { outgoing: { ...side(host), port: 587 } } }],
    ],
    [
      'REST SaveEMailAccount',
      'OutgoingCredentials.Server',
      (host) => [
        'POST',
        '/api/v1/Agents/EMail/SaveEMailAccount',
        {
          token: null,
          headers: REST,
          body: {
            EMailAccountId: 0,
            EMailAddress: 'h@example.test',
            OutgoingCredentials: { Server: host, Port: 587, Username: 'u', Password: 'Host-pw-7781' },
          },
        },
      ],
    ],
    [
      'SOAP SaveEMailAccount',
      'OutgoingCredentials.Server',
      (host) => [
        'POST',
        '/Remote/Services87/EMail.svc',
        {
          token: null,
          contentType: SOAP,
          raw: saveEMailAccountEnvelope('0', 'h@example.test', null, {
            server: host,
            port: '587',
            username: 'u',
            password: 'Host-pw-7781',
          }),
        },
      ],
    ],
    [
      'REST TestSmtpServer',
      'SmtpUri',
      (host) => [
        'POST',
        '/api/v1/Agents/CustomerService/TestSmtpServer',
        { token: null, headers: REST, body: { SmtpUri: `smtp://u:p@${host}:587`, UseStoredPassword: false } },
      ],
    ],
    [
      'SOAP TestSmtpServer',
      'SmtpUri',
      (host) => [
        'POST',
        '/Remote/Services88/CustomerService.svc',
        { token: null, contentType: SOAP, raw: testSmtpEnvelope(`smtp://u:p@${host}:587`, '', 'false') },
      ],
    ],
    [
      'Oracle testSmtpConnection',
      'emailSMTPHost',
      (host) => [
        'POST',
        '/ccadmin/v1/email/test',
        {
          body: {
            emailSMTPHost: host,
            emailSMTPPort: '587',
            emailSMTPAuthMethod: 'TLS',
            emailSMTPUsername: 'u',
            emailSMTPPassword: 'Host-pw-7781',
          },
        },
      ],
    ],
    [
      'dealer email-credentials/test',
      'emailCredentialsRequests.0.imapHost',
      (host) => [
        'POST',
        '/dealers/6f1c2a4e-0b1d-4c3e-9f5a-2b7d8e9c0a1b/email-credentials/test',
        { body: { emailCredentialsRequests: [{ imapHost: host, imapPort: '993', imapUserID: 'u' }] } },
      ],
    ],
  ];

  const cases = entryPoints.flatMap(([name, field, build]) =>
    BAD_HOSTS.map(([host, sentence]) => [name, host, field, build, sentence] as const),
  );

  it.each(cases)('%s refuses %j', async (_name, host, field, build, sentence) => {
    const before = (await api.core.repo.listAccounts()).total;
    const res = await api.request(...build(host));
    expect(res.status, res.text.slice(0, 400)).toBe(400);
    expect(res.text).toContain(field);
    expect(res.text).toMatch(sentence);
    expect(res.text).not.toContain(host);
    expect((await api.core.repo.listAccounts()).total).toBe(before);
  });
});

describe('accounts import refuses a malformed host name', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailmon-hosts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 naming the entry and the field, and stores nothing', async () => {
    const env = {
      MAILMON_CONFIG: '/dev/null',
      MAILMON_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      MAILMON_SECRET_KEY: generateKeyLine('k1'),
    };
    const entry = (address: string, server: string) => ({
      EMailAddress: address,
      IncomingCredentials: { Server: server, Port: 993, Username: 'u', Password: 'Host-pw-7781' },
    });
    const file = join(dir, 'accounts.json');
    writeFileSync(
      file,
      JSON.stringify([
        entry('ok@example.test', 'imap.example.test'),
        entry('bad@example.test', 'imap..example.test'),
      ]),
    );
    const run = await runCli(['accounts', 'import', file], env);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(
      /entry 2 \(bad@example\.test\): IncomingCredentials\.Server: must not have an empty label/,
    );
    expect(run.stderr).toMatch(/nothing imported/);
    const list = await runCli(['accounts', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });
});
