// Property: whatever JSON or XML arrives, every compat route answers 2xx/4xx in its own shape, never
// a 5xx. Probes that validation lets through run for real, against a closed loopback port.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KnexAccountRepository } from '../../../src/db/account-store.js';
import { compatRoutes } from '../../../src/http/compat/index.js';
import { sqliteTestDb, type TestDb } from '../../helpers/databases.js';
import { testKeyring } from '../../helpers/keyring.js';
import { certFor } from '../../peers/certs.js';
import { createProbeRunner, repositoryDeps, startCompatServer, type CompatServer } from './helpers.js';

const RUNS = 60;

describe('compat routes under random input', () => {
  let db: TestDb;
  let server: CompatServer;

  beforeAll(async () => {
    db = await sqliteTestDb();
    const probes = createProbeRunner((await certFor('valid')).caPem);
    server = await startCompatServer(compatRoutes, {
      // Whatever a fuzzed target names, the probe is aimed at a closed loopback port: the property is
      // about the HTTP layer, and a test never aims a probe anywhere but loopback.
      testTargets: (targets) =>
        probes.testTargets(targets.map((t) => ({ ...t, host: '127.0.0.1', port: 9 }))),
      ...repositoryDeps(new KnexAccountRepository(db.db.knex, testKeyring())),
    });
  });

  afterAll(async () => {
    await server?.close();
    await db?.cleanup();
  });

  const host = fc.oneof(
    fc.constantFrom('127.0.0.1', '', 'a b', 'x\r\ny', '[::1]', 'ünï.example'),
    fc.string(),
  );
  const port = fc.oneof(fc.constantFrom('9', '0', '65536', '-1', '1e3', ' 25 '), fc.integer(), fc.string());
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.oneof(arb, anyJson), { nil: undefined });

  const routes: [string, fc.Arbitrary<unknown>][] = [
    [
      '/api/v1/Agents/CustomerService/TestSmtpServer',
      fc.oneof(
        anyJson,
        fc.record({
          SmtpUri: maybe(fc.string().map((s) => `smtp://u:p@${s}`)),
          From: maybe(fc.string()),
          UseStoredPassword: maybe(fc.boolean()),
        }),
      ),
    ],
    [
      '/api/v1/Agents/EMail/SaveEMailAccount',
      fc.oneof(
        anyJson,
        fc.record({
          EMailAccountId: maybe(fc.integer()),
          EMailAddress: maybe(fc.emailAddress()),
          IncomingCredentials: maybe(
            fc.record({
              Server: maybe(host),
              Port: maybe(fc.integer()),
              Username: maybe(fc.string()),
              Password: maybe(fc.string()),
            }),
          ),
          AccountStatus: maybe(fc.integer()),
        }),
      ),
    ],
    [
      '/ccadmin/v1/email/test',
      fc.oneof(
        anyJson,
        fc.record({
          emailSMTPHost: maybe(host),
          emailSMTPPort: maybe(port),
          emailSMTPAuthMethod: maybe(fc.constantFrom('SSL', 'TLS', 'x')),
        }),
      ),
    ],
    [
      '/dealers/8a6e0804-2bd0-4672-b79d-d97027f9071a/email-credentials/test',
      fc.oneof(
        anyJson,
        fc.record({
          emailCredentialsRequests: maybe(
            fc.array(
              fc.record({
                smtpHost: maybe(host),
                smtpPort: maybe(port),
                smtpUseAuth: maybe(fc.constantFrom('true', 'false', 'TRUE', 'x')),
                imapHost: maybe(host),
                imapUserID: maybe(fc.string()),
              }),
              { maxLength: 3 },
            ),
          ),
        }),
      ),
    ],
  ];

  it.each(routes)('POST %s never answers 5xx', async (path, body) => {
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const res = await server.post(path, value as object);
        expect(res.status, res.text).toBeLessThan(500);
        expect(res.json, res.text).toBeTypeOf('object');
      }),
      { numRuns: RUNS },
    );
  });

  const xmlish = fc.oneof(
    fc.string(),
    fc
      .string()
      .map(
        (s) =>
          `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>${s}</e:Body></e:Envelope>`,
      ),
    fc
      .record({ uri: fc.string(), port: fc.string(), flag: fc.string() })
      .map(
        ({ uri, port, flag }) =>
          `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><c:TestSmtpServer xmlns:c="http://www.superoffice.net/ws/crm/NetServer/Services88"><c:SmtpUri>${uri}</c:SmtpUri><c:UseStoredPassword>${flag}</c:UseStoredPassword></c:TestSmtpServer><m:SaveEMailAccount xmlns:m="http://www.superoffice.net/ws/crm/NetServer/Services87"><m:EMailAccount><m:Port>${port}</m:Port></m:EMailAccount></m:SaveEMailAccount></e:Body></e:Envelope>`,
      ),
  );

  it.each(['/Remote/Services88/CustomerService.svc', '/Remote/Services87/EMail.svc'])(
    'POST %s answers a SOAP envelope, never 5xx for bad input',
    async (path) => {
      await fc.assert(
        fc.asyncProperty(xmlish, async (xml) => {
          const res = await server.post(path, xml);
          expect(res.status, res.text).toBeLessThan(500);
          expect(res.text).toMatch(/<SOAP-ENV:Envelope/);
        }),
        { numRuns: RUNS },
      );
    },
  );
});
