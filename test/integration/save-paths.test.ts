// One save path: the same table of cases (save-cases.ts) through every way an account is saved —
// the native API, SaveEMailAccount over REST and SOAP, and `mailmon accounts import` (the real CLI,
// a subprocess on the same database) — on SQLite and on MariaDB. Every entry point must give the
// same stored result, or refuse the same field (each in its own wording) and store nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountRepository } from '../../src/accounts/repository.js';
import type { ServiceAuth } from '../../src/accounts/types.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { expectNoSecrets, startApi, type ApiServer } from '../http/helpers.js';
import { certFor } from '../peers/certs.js';
import { describeWithPeer } from '../peers/require.js';
import {
  ADDRESS,
  nativeBody,
  saveCases,
  SECRETS,
  soapEnvelope,
  standardSeed,
  superOfficeAccount,
  superOfficePath,
  type AccountSpec,
  type SaveCase,
  type StoredSide,
  type StoredState,
} from './save-cases.js';

const UNKNOWN_ID = 999_999;

/** What an entry point answered: stored, or refused with a status, the field as it named it, and its sentence. */
type Answer = { ok: true } | { ok: false; status: number; field: string | null; text: string };

interface EntryPoint {
  name: string;
  /** How this entry point names a neutral field path in its refusals. */
  path(neutral: string): string;
  save(id: number, spec: AccountSpec): Promise<Answer>;
}

function storedSide(side: ServiceAuth | null): StoredSide | null {
  if (side === null) return null;
  const { oauth } = side;
  return {
    server: side.server,
    port: side.port,
    username: side.username,
    password: side.password,
    security: side.security,
    authType: side.authType,
    acceptUnverifiedCert: side.acceptUnverifiedCert,
    caPem: side.caPem,
    oauth: oauth
      ? {
          tokenUrl: oauth.tokenUrl,
          clientId: oauth.clientId,
          clientSecret: oauth.clientSecret,
          refreshToken: oauth.refreshToken,
          scope: oauth.scope,
        }
      : null,
  };
}

async function storedState(repo: AccountRepository, id: number): Promise<StoredState> {
  const account = await repo.getAccountWithSecrets(id);
  if (account === null) throw new Error(`account ${id} is gone`);
  return {
    emailAddress: account.emailAddress,
    incoming: storedSide(account.incoming),
    outgoing: storedSide(account.outgoing),
  };
}

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer ? describeWithPeer(dialect.peer, name, fn) : describe(name, fn);

  suite(`one save path for every entry point on ${dialect.name}`, () => {
    const secretKey = generateKeyLine('save-paths');
    let t: TestDb;
    let api: ApiServer;
    let dir: string;
    let cliEnv: Record<string, string>;
    let cases: SaveCase[];
    let caPem: string;
    const cliOutput: string[] = [];

    beforeAll(async () => {
      [caPem, cases] = await Promise.all([
        certFor('valid').then((c) => c.caPem),
        certFor('selfsigned').then((c) => saveCases(c.certPem)),
      ]);
      t = await dialect.open();
      api = await startApi({ overrides: { 'database.url': t.url }, secretKey });
      dir = mkdtempSync(join(tmpdir(), 'mailmon-save-paths-'));
      cliEnv = { MAILMON_CONFIG: '/dev/null', MAILMON_DATABASE_URL: t.url, MAILMON_SECRET_KEY: secretKey };
    });
    afterAll(async () => {
      // No entry point echoes a secret, in an answer, a log line or a CLI message.
      expectNoSecrets([...(api?.bodies ?? []), api?.logs.text ?? '', ...cliOutput], Object.values(SECRETS));
      await api?.close();
      await t?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const entryPoints: EntryPoint[] = [
      {
        name: 'native API',
        path: (neutral) => neutral,
        save: async (id, spec) => {
          const res = await api.request('PUT', `/api/v1/accounts/${id}`, { body: nativeBody(spec) });
          if (res.status === 200) return { ok: true };
          return {
            ok: false,
            status: res.status,
            field: res.json.issues?.[0]?.path ?? null,
            text: res.json.message,
          };
        },
      },
      {
        name: 'SaveEMailAccount REST',
        path: superOfficePath,
        save: async (id, spec) => {
          const res = await api.request('POST', '/api/v1/Agents/EMail/SaveEMailAccount', {
            body: { EMailAccount: superOfficeAccount(id, spec) },
          });
          if (res.status === 200) return { ok: true };
          return {
            ok: false,
            status: res.status,
            field: res.json.Errors?.[0]?.Field ?? null,
            text: res.json.Error,
          };
        },
      },
      {
        name: 'SaveEMailAccount SOAP',
        path: superOfficePath,
        save: async (id, spec) => {
          const res = await api.request('POST', '/Remote/Services87/EMail.svc', {
            raw: soapEnvelope(id, spec),
            contentType: 'application/soap+xml; charset=utf-8',
          });
          if (res.status === 200) return { ok: true };
          const reason = /<(?:[\w-]+:)?Text[^>]*>([^<]*)</.exec(res.text)?.[1] ?? res.text;
          return {
            ok: false,
            status: res.status,
            field: /^([\w.]+): /.exec(reason)?.[1] ?? null,
            text: reason,
          };
        },
      },
    ];

    async function seed(spec: AccountSpec, deleted: boolean): Promise<number> {
      const created = await api.request('POST', '/api/v1/accounts', { body: nativeBody(spec) });
      expect(created.status, created.text).toBe(201);
      const id = created.json.id as number;
      if (deleted) expect((await api.request('DELETE', `/api/v1/accounts/${id}`)).status).toBe(200);
      return id;
    }

    /** Per case, the stored state each entry point left (in entry point order, the import last). */
    const results = new Map<string, StoredState[]>();
    const record = (saveCase: SaveCase, state: StoredState) =>
      results.set(saveCase.name, [...(results.get(saveCase.name) ?? []), state]);

    /** Seeds the case's account and returns its id and what is stored before the request. */
    async function prepare(saveCase: SaveCase): Promise<{ id: number; target: number; before: StoredState }> {
      const id = await seed(saveCase.seed ?? standardSeed(caPem), saveCase.deleted ?? false);
      return {
        id,
        target: saveCase.unknownId ? UNKNOWN_ID : id,
        before: await storedState(api.core.repo, id),
      };
    }

    it('the native API and SaveEMailAccount (REST, SOAP) answer every case as the table says', async () => {
      for (const saveCase of cases) {
        const request = saveCase.request(saveCase.seed ?? standardSeed(caPem));
        for (const entry of entryPoints) {
          const where = `${saveCase.name} — ${entry.name}`;
          const { id, target, before } = await prepare(saveCase);
          const answer = await entry.save(target, request);
          const after = await storedState(api.core.repo, id);
          record(saveCase, after);
          if ('stored' in saveCase.expect) {
            expect(answer, where).toEqual({ ok: true });
            expect(after, where).toEqual(saveCase.expect.stored(before));
            continue;
          }
          const refused = saveCase.expect.refused;
          expect(after, `${where}: nothing stored`).toEqual(before);
          if (answer.ok) throw new Error(`${where}: stored, expected a refusal`);
          expect(answer.status, where).toBe(typeof refused === 'number' ? refused : 400);
          if (typeof refused === 'string') {
            expect(answer.field, where).toBe(entry.path(refused));
            expect(answer.text, where).toMatch(/is required/);
          } else expect(answer.text, where).toMatch(refused === 404 ? /does not exist/ : /is Deleted/);
        }
      }
    }, 120_000);

    it('accounts import refuses the same cases, naming entry and field, and stores the others', async () => {
      const prepared: ({ saveCase: SaveCase } & Awaited<ReturnType<typeof prepare>>)[] = [];
      for (const saveCase of cases) prepared.push({ saveCase, ...(await prepare(saveCase)) });
      const entry = (p: (typeof prepared)[number]) =>
        superOfficeAccount(p.target, p.saveCase.request(p.saveCase.seed ?? standardSeed(caPem)));
      const importFile = async (name: string, batch: typeof prepared) => {
        const file = join(dir, name);
        writeFileSync(file, JSON.stringify(batch.map(entry)));
        const run = await runCli(['accounts', 'import', file], cliEnv);
        cliOutput.push(run.stdout, run.stderr);
        return run;
      };

      // The whole table as one file: refused as a whole, every refused case named, nothing stored.
      const all = await importFile('all.json', prepared);
      expect(all.code, all.stderr).toBe(2);
      const refusedLines = all.stderr.split('\n').filter((line) => /^\s+entry \d+/.test(line));
      const expectedLines = prepared.flatMap((p, index) => {
        const refused = 'refused' in p.saveCase.expect ? p.saveCase.expect.refused : null;
        if (refused === null) return [];
        const head = `entry ${index + 1} (${ADDRESS}): `;
        if (typeof refused === 'string')
          return [expect.stringContaining(`${head}${superOfficePath(refused)}: is required`)];
        return [
          expect.stringContaining(
            `${head}EMailAccount ${UNKNOWN_ID === p.target ? UNKNOWN_ID : p.id} ${refused === 404 ? 'does not exist' : 'is Deleted'}`,
          ),
        ];
      });
      expect(refusedLines).toEqual(expectedLines);
      expect(all.stderr).toContain('nothing imported');
      for (const p of prepared)
        expect(await storedState(api.core.repo, p.id), p.saveCase.name).toEqual(p.before);

      // The cases the table stores, as one file: stored as the table says.
      const storing = prepared.filter((p) => 'stored' in p.saveCase.expect);
      const ok = await importFile('storing.json', storing);
      expect([ok.code, ok.stderr]).toEqual([0, '']);
      for (const p of prepared) {
        const after = await storedState(api.core.repo, p.id);
        record(p.saveCase, after);
        const expected = 'stored' in p.saveCase.expect ? p.saveCase.expect.stored(p.before) : p.before;
        expect(after, `${p.saveCase.name} — accounts import`).toEqual(expected);
      }
    }, 120_000);

    it('every entry point leaves the same stored result', () => {
      expect(results.size).toBe(cases.length);
      for (const [name, states] of results) {
        expect(states, name).toHaveLength(entryPoints.length + 1);
        for (const state of states.slice(1)) expect(state, name).toEqual(states[0]);
      }
    });
  });
}
