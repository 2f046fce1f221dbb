// The real CLI with OAuth2: `mailmon accounts import` takes the "OAuth" object, `mailmon check`
// fetches an access token at a local token endpoint and logs in to an SMTP server that checks it;
// no secret shows in any output or in the database file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { makeCanary, CanaryCorpus } from '../helpers/canary.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { makeAppCertificate, pemCore, type AppCertificate } from './app-credentials.js';
import { xoauth2SmtpOptions } from './oauth-peers.js';
import { startTokenEndpoint, type TokenEndpoint } from './oauth-token-endpoint.js';

const USER = 'erin@example.test';

describe('the mailmon CLI with OAuth2 refresh settings', () => {
  const clientSecret = makeCanary('cli-client-secret');
  const refreshToken = makeCanary('cli-refresh');
  const appSecret = makeCanary('cli-app-secret');
  let dir: string;
  let idp: TokenEndpoint;
  let smtp: TestSmtpServer;
  let env: Record<string, string>;
  let cert: AppCertificate;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailmon-oauth-cli-'));
    cert = await makeAppCertificate('mailmon cli app', 20);
    idp = await startTokenEndpoint({
      clientId: 'cli-client',
      clientSecret: clientSecret.secret,
      now: () => new Date(),
      app: {
        clientId: 'cli-tenant-app',
        clientSecret: appSecret.secret,
        certificatePem: cert.certPem,
        serviceAccount: { email: 'unused@example.test', publicKeyPem: cert.certPem },
        mailboxes: [USER],
        introspectionUser: USER,
      },
    });
    idp.grant(refreshToken.secret, USER);
    smtp = await startSmtpServer(xoauth2SmtpOptions(idp));
    // The import has no CA field: the test CA comes in through tls.extraCaFile.
    writeFileSync(join(dir, 'ca.pem'), smtp.caPem);
    writeFileSync(
      join(dir, 'mailmon.yaml'),
      'egress: { allowCidrs: [127.0.0.0/8], allowedPorts: null, tokenEndpointPorts: null }\nscheduler: { checkTimeoutSeconds: 5 }\n' +
        `tls: { extraCaFile: ${join(dir, 'ca.pem')} }\n`,
    );
    env = {
      MAILMON_CONFIG: join(dir, 'mailmon.yaml'),
      MAILMON_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      MAILMON_SECRET_KEY: generateKeyLine('k1'),
    };
  });
  afterAll(async () => {
    await Promise.all([smtp?.stop(), idp?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports a refresh-only account, then a check fetches a token and passes; nothing leaks', async () => {
    const runs: CliRun[] = [];
    const account = {
      EMailAddress: USER,
      OutgoingCredentials: {
        Server: '127.0.0.1',
        Port: smtp.port,
        AuthType: 'OAuth',
        Username: USER,
        Security: 'starttls',
        OAuth: {
          TokenUrl: `${idp.url}/token`,
          ClientId: 'cli-client',
          ClientSecret: clientSecret.secret,
          RefreshToken: refreshToken.secret,
          Scope: 'https://outlook.office.com/SMTP.Send offline_access',
        },
      },
    };
    const imported = await runCli(['accounts', 'import', '-'], env, JSON.stringify([account]));
    runs.push(imported);
    expect([imported.code, imported.stdout, imported.stderr]).toEqual([
      0,
      expect.stringContaining('1 created'),
      '',
    ]);

    const check = await runCli(['check', '--account', '1', '--json'], env);
    runs.push(check);
    expect(check.stderr).toBe('');
    expect(JSON.parse(check.stdout)).toMatchObject([{ accountId: 1, ok: true, status: 'Ok' }]);
    expect(idp.tokenRequests).toMatchObject([{ clientOk: true, status: 200 }]);

    const again = await runCli(['check', '--account', '1', '--json'], env);
    runs.push(again);
    expect(JSON.parse(again.stdout)).toMatchObject([{ ok: true }]);
    expect(idp.tokenRequests).toHaveLength(1); // the stored token was reused

    runs.push(await runCli(['accounts', 'show', '1', '--json', '--transcript'], env));
    const sqlite = join(dir, 'db.sqlite');
    const corpus = new CanaryCorpus();
    runs.forEach((run, i) => corpus.add(`CLI run ${i + 1}`, run.stdout + run.stderr));
    for (const suffix of ['', '-wal']) {
      try {
        corpus.add(`SQLite file${suffix}`, readFileSync(`${sqlite}${suffix}`));
      } catch {
        // no WAL left after a clean close
      }
    }
    expect(corpus.sources).toContain('SQLite file');
    expect(idp.issued()).toHaveLength(3); // the imported refresh token, the rotated one, one access token
    corpus.assertClean([clientSecret, refreshToken, ...idp.issued()]);
  });

  it('imports an app-only certificate account; check passes; show names the grant, the certificate and its expiry', async () => {
    const runs: CliRun[] = [];
    const before = idp.tokenRequests.length;
    const account = {
      EMailAddress: USER,
      OutgoingCredentials: {
        Server: '127.0.0.1',
        Port: smtp.port,
        AuthType: 'OAuth',
        Username: USER,
        Security: 'starttls',
        OAuth: {
          Grant: 'client_credentials',
          TokenUrl: `${idp.url}/token`,
          ClientId: 'cli-tenant-app',
          PrivateKey: cert.keyPem,
          Certificate: cert.certPem,
        },
      },
    };
    const imported = await runCli(['accounts', 'import', '-'], env, JSON.stringify([account]));
    runs.push(imported);
    expect([imported.code, imported.stderr]).toEqual([0, '']);
    const id = /ids (\d+)/.exec(imported.stdout)?.[1] ?? '';
    const check = await runCli(['check', '--account', id, '--json'], env);
    runs.push(check);
    expect(JSON.parse(check.stdout)).toMatchObject([{ ok: true, status: 'Ok' }]);
    expect(idp.tokenRequests.slice(before)).toMatchObject([{ status: 200, credential: 'certificate' }]);
    const show = await runCli(['accounts', 'show', id], env);
    runs.push(show);
    expect(show.stdout).toMatch(
      /SMTP OAuth2: client_credentials at .*, client cli-tenant-app, certificate x5t [A-Za-z0-9_-]{27}; expires \S+ \(in 19 days\)/,
    );
    runs.push(await runCli(['accounts', 'show', id, '--json'], env));
    expect(JSON.parse(runs.at(-1)!.stdout).outgoing.oauth).toMatchObject({
      grant: 'client_credentials',
      credential: 'certificate',
    });

    const bad = await runCli(
      ['accounts', 'import', '-'],
      env,
      JSON.stringify([
        {
          ...account,
          OutgoingCredentials: {
            ...account.OutgoingCredentials,
            OAuth: { ...account.OutgoingCredentials.OAuth, Certificate: undefined },
          },
        },
      ]),
    );
    runs.push(bad);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      expect.stringContaining(
        'OutgoingCredentials.OAuth.Certificate: (or CertThumbprint) is required with a new PrivateKey',
      ),
    ]);

    // accounts edit: the same side moves to a client secret (read from stdin), nothing else changes.
    writeFileSync(join(dir, 'app.key'), cert.keyPem);
    const edit = (args: string[], stdin?: string) =>
      runCli(['accounts', 'edit', id, '--side', 'outgoing', ...args], env, stdin);
    const noKey = await edit([
      '--token-url',
      `${idp.url}/token`,
      '--client-id',
      'cli-tenant-app',
      '--private-key-file',
      join(dir, 'app.key'),
    ]);
    runs.push(noKey);
    expect([noKey.code, noKey.stderr.trim()]).toEqual([
      2,
      'mailmon: --certificate-file: (or --cert-thumbprint) is required with a new --private-key-file',
    ]);
    const moved = await edit(['--token-url', `${idp.url}/token`, '--client-id', 'another-app']);
    runs.push(moved);
    expect([moved.code, moved.stderr]).toEqual([
      2,
      expect.stringContaining(
        '--private-key-file (outgoing.oauth): is required when --token-url or --client-id changes',
      ),
    ]);
    const edited = await edit(
      [
        '--token-url',
        `${idp.url}/token`,
        '--client-id',
        'cli-tenant-app',
        '--client-secret-file',
        '-',
        '--credential-expires',
        '2027-06-30',
      ],
      `${appSecret.secret}\n`,
    );
    runs.push(edited);
    expect([edited.code, edited.stderr]).toEqual([0, '']);
    const recheck = await runCli(['check', '--account', id, '--json'], env);
    runs.push(recheck);
    expect(JSON.parse(recheck.stdout)).toMatchObject([{ ok: true }]);
    expect(idp.tokenRequests.at(-1)).toMatchObject({ status: 200, credential: 'secret' });
    const shown = await runCli(['accounts', 'show', id], env);
    runs.push(shown);
    expect(shown.stdout).toMatch(/client cli-tenant-app, client secret; expires 2027-06-30T00:00:00.000Z/);
    const help = await runCli(['accounts', 'edit', '--help'], env);
    expect(help.stdout).toContain('--service-account-key-file');

    const corpus = new CanaryCorpus();
    runs.forEach((run, i) => corpus.add(`CLI run ${i + 1}`, run.stdout + run.stderr));
    corpus.add('SQLite file', readFileSync(join(dir, 'db.sqlite')));
    corpus.add(
      'SQLite WAL',
      (() => {
        try {
          return readFileSync(join(dir, 'db.sqlite-wal'));
        } catch {
          return '';
        }
      })(),
    );
    corpus.assertClean([
      { secret: cert.keyPem, core: pemCore(cert.keyPem), label: 'private key' },
      ...idp.issued(),
    ]);
  });
});
