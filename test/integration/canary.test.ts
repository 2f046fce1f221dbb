// The canary test: accounts with unique canary passwords and OAuth tokens are checked for real
// (good and failing logins, IMAP and SMTP, password and XOAUTH2/OAUTHBEARER) by the daemon and by
// the CLI; then every captured output is searched for every canary in every spelling: log lines at
// trace level, CLI stdout/stderr, /metrics, /healthz, the console's pages, stored transcripts, every database row and,
// on SQLite, the raw file bytes including the WAL. Any hit fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuthInput, ServiceAuthInput, SideCheck } from '../../src/accounts/repository.js';
import { AccountStatus } from '../../src/accounts/types.js';
import { createCore, type Core } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { sqlitePath } from '../../src/db/connection.js';
import { createLogger } from '../../src/logging/logger.js';
import type { AuthType } from '../../src/probes/types.js';
import { assertNoCanary, CanaryCorpus, findCanaries, makeCanary, type Canary } from '../helpers/canary.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { LogCapture } from '../helpers/core.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import type { Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { certificateThumbprint } from '../../src/probes/jwt.js';
import { makeAppCertificate, pemCore, type AppCertificate } from './app-credentials.js';
import {
  startIntrospection,
  startOAuthDovecot,
  xoauth2SmtpOptions,
  type Introspection,
} from './oauth-peers.js';
import { startTokenEndpoint, type TokenEndpoint } from './oauth-token-endpoint.js';

describe('the canary search itself', () => {
  const canary = makeCanary('probe', 'dora', { special: true });
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  it('finds every spelling, inside base64 at any alignment and in raw bytes, so the suite below can fail', () => {
    const planted = [
      `password=${canary.secret}`,
      JSON.stringify({ pass: canary.secret }),
      `smtp://dora:${encodeURIComponent(canary.secret)}@host`,
      `C: AUTH PLAIN ${b64(`\0dora\0${canary.secret}`)}`,
      `C: AUTH PLAIN ${b64(`\0someone-else\0${canary.secret}`)}`,
      `C: 1 AUTHENTICATE XOAUTH2 ${b64(`user=dora\x01auth=Bearer ${canary.secret}\x01\x01`)}`,
      `blob ${b64(`x${canary.secret}`)}`,
      `truncated ${canary.secret.slice(0, 30)}`,
    ];
    for (const text of planted) expect(() => assertNoCanary(text, [canary]), text).toThrow(/secret leaked/);
    expect(findCanaries(Buffer.concat([Buffer.alloc(9), Buffer.from(canary.secret)]), [canary])).not.toEqual(
      [],
    );
    expect(() => assertNoCanary('AUTH PLAIN ****', [canary])).not.toThrow();
    expect(String(findCanaries(canary.secret, [canary]).map((h) => h.canary))).not.toContain(canary.secret);
  });
});

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer
      ? describeWithPeer(dialect.peer, name, () => describeWithPeer('dovecot', name, fn))
      : describeWithPeer('dovecot', name, fn);

  suite(`no canary secret in any output on ${dialect.name}`, () => {
    const C = {
      imapGood: makeCanary('imap-good', 'dora'),
      imapLogin: makeCanary('imap-login', 'dan'),
      imapBad: makeCanary('imap-bad', 'dora', { special: true }),
      imapToken: makeCanary('imap-token', 'dora'),
      imapTokenBad: makeCanary('imap-token-bad', 'dora'),
      smtpGood: makeCanary('smtp-good', 'dora'),
      smtpBad: makeCanary('smtp-bad', 'dora', { special: true }),
      smtpToken: makeCanary('smtp-token', 'dora'),
      smtpTokenBad: makeCanary('smtp-token-bad', 'dora'),
      appClientSecret: makeCanary('app-client-secret'),
    };
    const canaries: Canary[] = Object.values(C);
    let idp: TokenEndpoint;
    let appSmtp: TestSmtpServer;
    let appCert: AppCertificate;
    const corpus = new CanaryCorpus();
    const logs = new LogCapture();
    let t: TestDb;
    let dir: string;
    let dovecot: Dovecot;
    let smtp: TestSmtpServer;
    let introspection: Introspection;
    let core: Core;
    let daemon: Daemon | undefined;
    let ids: number[];
    const cli: Record<string, CliRun> = {};
    // Read before the daemon stops (stopping closes the core's database).
    const lastChecks: SideCheck[][] = [];
    const statuses: (AccountStatus | undefined)[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mailmon-canary-'));
      introspection = await startIntrospection(C.imapToken.secret, 'dora');
      // App-only OAuth2 (issue 11): a tenant app with a client secret and a certificate; the tokens it
      // issues, the secret and the private key are canaries too.
      appCert = await makeAppCertificate('canary app');
      canaries.push({ secret: appCert.keyPem, core: pemCore(appCert.keyPem), label: 'app private key' });
      idp = await startTokenEndpoint({
        clientId: 'unused',
        clientSecret: 'unused',
        now: () => new Date(),
        app: {
          clientId: 'canary-app',
          clientSecret: C.appClientSecret.secret,
          certificatePem: appCert.certPem,
          serviceAccount: { email: 'unused@example.test', publicKeyPem: appCert.certPem },
          mailboxes: ['dora'],
          introspectionUser: 'dora',
        },
      });
      appSmtp = await startSmtpServer(xoauth2SmtpOptions(idp));
      [t, dovecot, smtp] = await Promise.all([
        dialect.open(),
        startOAuthDovecot({
          introspectionUrl: introspection.url,
          users: [
            { user: 'dora', pass: C.imapGood.secret },
            { user: 'dan', pass: C.imapLogin.secret },
          ],
        }),
        startSmtpServer({
          users: [{ user: 'dora', pass: C.smtpGood.secret }],
          oauthTokens: { dora: C.smtpToken.secret },
        }),
      ]);
      writeFileSync(
        join(dir, 'mailmon.yaml'),
        [
          'http: { host: 127.0.0.1, port: 0 }',
          'scheduler: { checkTimeoutSeconds: 5, concurrency: 8, perHostConcurrency: 8 }',
          'egress: { allowCidrs: [127.0.0.0/8, "::1/128"], allowedPorts: null, tokenEndpointPorts: null }',
          'log: { level: trace, format: json }',
          'status: { failedThreshold: 2 }',
        ].join('\n'),
      );
      const env = {
        MAILMON_CONFIG: join(dir, 'mailmon.yaml'),
        MAILMON_DATABASE_URL: t.url,
        MAILMON_SECRET_KEY: generateKeyLine('canary'),
      };
      const config = loadConfig({ env });
      core = await createCore({
        config,
        logger: createLogger({ level: 'trace', pretty: false, destination: logs }),
      });

      const imap = (authType: AuthType, username: string, secret: Canary, tls = true): ServiceAuthInput => ({
        server: '127.0.0.1',
        port: tls ? dovecot.imapsPort : dovecot.imapPort,
        authType,
        username,
        password: secret.secret,
        security: tls ? 'tls' : 'starttls',
        acceptUnverifiedCert: false,
        caPem: dovecot.caPem,
      });
      const smtpSide = (authType: AuthType, secret: Canary): ServiceAuthInput => ({
        ...imap(authType, 'dora', secret),
        port: smtp.port,
        security: 'starttls',
        caPem: smtp.caPem,
      });
      const appSide = (credential: Partial<OAuthInput>): ServiceAuthInput => ({
        server: '127.0.0.1',
        port: appSmtp.port,
        authType: 'oauth2',
        username: 'dora',
        password: '',
        security: 'starttls',
        acceptUnverifiedCert: false,
        caPem: appSmtp.caPem,
        oauth: {
          grant: 'client_credentials',
          tokenUrl: `${idp.url}/token`,
          clientId: 'canary-app',
          clientSecret: null,
          refreshToken: undefined,
          scope: 'https://outlook.office365.com/.default',
          ...credential,
        },
      });
      const account = (n: number, incoming: ServiceAuthInput, outgoing: ServiceAuthInput | null) => ({
        emailAddress: `canary${n}@example.test`,
        associateId: 7,
        incoming,
        outgoing,
      });
      ids = await core.repo.saveAccounts([
        account(1, imap('password', 'dora', C.imapGood), smtpSide('plain', C.smtpGood)),
        account(2, imap('login', 'dan', C.imapLogin, false), smtpSide('login', C.smtpBad)),
        account(3, imap('password', 'dora', C.imapBad), null),
        account(4, imap('oauth2', 'dora', C.imapToken), smtpSide('oauth2', C.smtpToken)),
        account(5, imap('oauth2', 'dora', C.imapTokenBad), smtpSide('oauth2', C.smtpTokenBad)),
        account(
          6,
          imap('password', 'dora', C.imapGood),
          appSide({ clientSecret: C.appClientSecret.secret, privateKey: null }),
        ),
        account(
          7,
          imap('password', 'dora', C.imapGood),
          appSide({
            clientSecret: null,
            privateKey: appCert.keyPem,
            certThumbprint: certificateThumbprint(appCert.certPem),
          }),
        ),
      ]);

      // The daemon sweeps on its own schedule; wait until it has checked every account.
      daemon = await startDaemon(core);
      for (let i = 0; ; i++) {
        const accounts = await Promise.all(ids.map((id) => core.repo.getAccount(id)));
        if (accounts.every((a) => a?.lastCheckAt)) break;
        if (i > 200) throw new Error('the daemon did not check every account within 20 s');
        await sleep(100);
      }
      // The CLI as a separate process on the same database and key, while the daemon runs.
      const runs = await Promise.all([
        runCli(['accounts', 'list', '--json'], env),
        ...ids.map((id) => runCli(['accounts', 'show', String(id), '--json', '--transcript'], env)),
        // Every account, those backing off after the daemon's refused login too (issue 11).
        runCli(['check', '--all', '--include-backing-off', '--json'], env),
        runCli(['keys', 'check'], env),
      ]);
      const names = ['accounts list', ...ids.map((id) => `accounts show ${id}`), 'check --all', 'keys check'];
      runs.forEach((run, i) => (cli[names[i]!] = run));
      for (const [name, run] of Object.entries(cli)) {
        corpus.add(`CLI ${name} stdout`, run.stdout).add(`CLI ${name} stderr`, run.stderr);
      }
      for (const path of ['/metrics', '/healthz']) {
        const response = await fetch(`${daemon.url}${path}`);
        corpus.add(`HTTP ${path} body`, await response.text());
        corpus.add(`HTTP ${path} headers`, JSON.stringify([...response.headers]));
      }
      // The console (no tokens here: loopback, a session on first visit): every page, the list filtered too.
      const first = await fetch(`${daemon.url}/ui/`);
      const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
      corpus.add('HTTP /ui/ body', await first.text());
      for (const path of [
        '/ui/?status=Failed',
        '/ui/?status=all&q=canary',
        ...ids.map((id) => `/ui/accounts/${id}`),
      ]) {
        const response = await fetch(`${daemon.url}${path}`, { headers: { cookie } });
        corpus.add(`HTTP ${path} body`, await response.text());
        corpus.add(`HTTP ${path} headers`, JSON.stringify([...response.headers]));
      }
      for (const id of ids) {
        lastChecks.push(await core.repo.lastChecks(id));
        statuses.push((await core.repo.getAccount(id))?.accountStatus);
        corpus.add(`stored transcript of account ${id}`, JSON.stringify(lastChecks.at(-1)));
      }
      if (dialect.name === 'sqlite') await addSqliteFiles(corpus, t.url, 'while running');
      await daemon.stop();
      daemon = undefined;
      if (dialect.name === 'sqlite') {
        // Move everything from the WAL into the main file, then read that too.
        await t.db.knex.raw('PRAGMA wal_checkpoint(TRUNCATE)');
        await addSqliteFiles(corpus, t.url, 'after checkpoint');
      }
      await addAllRows(corpus, t);
      corpus.add('log lines', logs.text);
      canaries.push(
        ...idp.issued().map((token, i) => ({ secret: token, label: `issued app token ${i + 1}` })),
      );
    }, 90_000);

    afterAll(async () => {
      await (daemon ? daemon.stop() : undefined);
      await Promise.all([
        t?.cleanup(),
        dovecot?.stop(),
        smtp?.stop(),
        introspection?.close(),
        appSmtp?.stop(),
        idp?.close(),
      ]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the canaries really went over the wire: good logins Ok, bad ones refused by the servers', () => {
      const summary = lastChecks.map((list) =>
        list.map((s) => `${s.side}:${s.ok ? 'ok' : s.code}`).join(' '),
      );
      expect(summary).toEqual([
        'imap:ok smtp:ok',
        'imap:ok smtp:auth_rejected',
        'imap:auth_rejected',
        'imap:ok smtp:ok',
        'imap:auth_rejected smtp:auth_rejected',
        'imap:ok smtp:ok',
        'imap:ok smtp:ok',
      ]);
      expect(idp.tokenRequests.map((r) => `${r.credential}:${r.status}`).sort()).toEqual(
        expect.arrayContaining(['certificate:200', 'secret:200']),
      );
      expect(introspection.seen).toEqual(expect.arrayContaining([C.imapToken.secret, C.imapTokenBad.secret]));
      expect(smtp.authAttempts.map((a) => `${a.method}:${a.ok}`)).toEqual(
        expect.arrayContaining(['PLAIN:true', 'LOGIN:false', 'XOAUTH2:true', 'XOAUTH2:false']),
      );
      // The transcripts hold the AUTH exchanges, masked.
      const transcripts = lastChecks.flat().flatMap((s) => s.details?.transcript.map((l) => l.line) ?? []);
      expect(transcripts.filter((line) => line.includes('****')).length).toBeGreaterThanOrEqual(6);
      expect(statuses).toEqual([
        AccountStatus.Ok,
        AccountStatus.Failed,
        AccountStatus.Failed,
        AccountStatus.Ok,
        AccountStatus.Failed,
        AccountStatus.Ok,
        AccountStatus.Ok,
      ]);
      expect(cli['check --all']?.code).toBe(1);
      // 13 passwords (an app-only side stores an empty one), the client secret and the private key.
      expect(cli['keys check']?.stdout).toMatch(/15 secret\(s\) checked: 15 decrypt, 0 fail/);
      for (const id of ids) expect(cli[`accounts show ${id}`]?.code).toBe(0);
    });

    it('the search covers every output, and finds non-secret data in each kind of it', () => {
      expect(corpus.sources).toEqual(
        expect.arrayContaining([
          'CLI accounts list stdout',
          'CLI check --all stdout',
          'HTTP /metrics body',
          'HTTP /healthz body',
          'log lines',
          'all database rows',
          ...(dialect.name === 'sqlite' ? ['SQLite file while running', 'SQLite WAL while running'] : []),
        ]),
      );
      // Positive controls: known, non-secret values are found in the same outputs by the same search.
      const known: Record<string, string> = {
        'CLI accounts list stdout': 'canary1@example.test',
        'CLI check --all stdout': '"accountId"',
        [`CLI accounts show ${ids[0]} stdout`]: 'EHLO',
        [`stored transcript of account ${ids[0]}`]: 'EHLO',
        'HTTP /metrics body': 'mailmon_account_status',
        'HTTP /ui/ body': 'canary1@example.test',
        [`HTTP /ui/accounts/${ids[0]} body`]: 'EHLO',
        [`HTTP /ui/accounts/${ids[2]} body`]: 'auth_rejected',
        'log lines': 'mailmon listening on',
        'all database rows': 'canary1@example.test',
        ...(dialect.name === 'sqlite' ? { 'SQLite file after checkpoint': 'canary1@example.test' } : {}),
      };
      const found = new Set(corpus.find(Object.values(known)).map((h) => h.source));
      for (const source of Object.keys(known)) expect(found, source).toContain(source);
      expect(corpus.bytes).toBeGreaterThan(20_000);
    });

    it('no canary, in any spelling, in any log line, CLI output, HTTP body, transcript or database byte', () => {
      corpus.assertClean(canaries);
    });
  });
}

/** The SQLite database file and its -wal and -shm companions, as raw bytes (absent ones skipped). */
async function addSqliteFiles(corpus: CanaryCorpus, url: string, when: string): Promise<void> {
  const path = sqlitePath(url);
  for (const [suffix, name] of [
    ['', 'file'],
    ['-wal', 'WAL'],
    ['-shm', 'shared memory'],
  ] as const) {
    const bytes = await readFile(`${path}${suffix}`).catch(() => null);
    if (bytes !== null && bytes.length > 0) corpus.add(`SQLite ${name} ${when}`, bytes);
  }
}

/** Every row of every table, through the test's own connection. */
async function addAllRows(corpus: CanaryCorpus, t: TestDb): Promise<void> {
  const knex = t.db.knex;
  const tables =
    t.db.dialect === 'sqlite'
      ? ((await knex('sqlite_master').where('type', 'table').pluck('name')) as string[])
      : ((await knex.raw('SHOW TABLES'))[0] as Record<string, string>[]).map((r) =>
          String(Object.values(r)[0]),
        );
  expect(tables).toEqual(
    expect.arrayContaining(['service_auth', 'email_account', 'last_check', 'check_result']),
  );
  const dump: Record<string, unknown[]> = {};
  for (const table of tables) dump[table] = await knex(table).select();
  corpus.add(
    'all database rows',
    // Binary columns reach the replacer as Buffer.toJSON() output: turn them back into their bytes.
    JSON.stringify(dump, (_key, value: unknown) => {
      const data = (value as { type?: string; data?: number[] } | null)?.data;
      if ((value as { type?: string } | null)?.type === 'Buffer' && Array.isArray(data))
        return Buffer.from(data).toString('latin1');
      return typeof value === 'bigint' ? String(value) : value;
    }),
  );
}
