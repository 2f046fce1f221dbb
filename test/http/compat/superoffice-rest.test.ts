// SuperOffice REST agents over real HTTP, against a real SMTP server and the real repository.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KnexAccountRepository } from '../../../src/db/account-store.js';
import { superOfficeRestRoutes } from '../../../src/http/compat/index.js';
import { sqliteTestDb, type TestDb } from '../../helpers/databases.js';
import { testKeyring } from '../../helpers/keyring.js';
import { startSmtpServer, type TestSmtpServer } from '../../peers/smtp.js';
import {
  createProbeRunner,
  leakedSecrets,
  repositoryDeps,
  startCompatServer,
  type CompatServer,
  type ProbeRunner,
} from './helpers.js';

const USER = 'sales@example.test';
const PASS = 'Rest-S3cret:pw/with@odd%chars';
const WRONG = 'Rest-Wrong-Pass-0001';
const IMAP_PASS = 'Rest-Imap-Secret-7731';
const TEST_PATH = '/api/v1/Agents/CustomerService/TestSmtpServer';
const SAVE_PATH = '/api/v1/Agents/EMail/SaveEMailAccount';

/** The documented sample's headers. */
const SAMPLE_HEADERS = {
  Authorization: 'Basic dGplMDpUamUw',
  Accept: 'application/json; charset=utf-8',
  'Accept-Language': 'sv',
  'Content-Type': 'application/json; charset=utf-8',
};

const enc = encodeURIComponent;

interface SavedAccount extends Record<string, unknown> {
  EMailAccountId: number;
}

describe('SuperOffice REST compat', () => {
  let smtp: TestSmtpServer;
  let smtps: TestSmtpServer;
  let db: TestDb;
  let repo: KnexAccountRepository;
  let probes: ProbeRunner;
  let server: CompatServer;

  beforeAll(async () => {
    [smtp, smtps, db] = await Promise.all([
      startSmtpServer({ users: [{ user: USER, pass: PASS }] }),
      startSmtpServer({ users: [{ user: USER, pass: PASS }], secure: true }),
      sqliteTestDb(),
    ]);
    repo = new KnexAccountRepository(db.db.knex, testKeyring());
    probes = createProbeRunner(smtp.caPem);
    server = await startCompatServer(superOfficeRestRoutes, {
      testTargets: probes.testTargets,
      ...repositoryDeps(repo),
    });
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([smtp?.stop(), smtps?.stop(), db?.cleanup()]);
  });

  afterAll(() => {
    expect(leakedSecrets(server.bodies, [PASS, WRONG, IMAP_PASS, enc(PASS)])).toEqual([]);
  });

  describe('TestSmtpServer', () => {
    it('answers the documented sample with SmtpTestResult: STARTTLS + AUTH succeed', async () => {
      const res = await server.post(
        TEST_PATH,
        {
          SmtpUri: `smtp://${enc(USER)}:${enc(PASS)}@127.0.0.1:${smtp.port}`,
          From: USER,
          UseStoredPassword: false,
        },
        SAMPLE_HEADERS,
      );
      expect(res.status).toBe(200);
      expect(res.contentType).toMatch(/^application\/json/);
      expect(res.json).toEqual({ Success: true, ErrorMessage: '', TableRight: null, FieldProperties: {} });
      expect(smtp.authAttempts.at(-1)).toEqual({ method: 'PLAIN', user: USER, ok: true });
    });

    it('smtps:// is implicit TLS', async () => {
      const res = await server.post(TEST_PATH, {
        SmtpUri: `smtps://${enc(USER)}:${enc(PASS)}@127.0.0.1:${smtps.port}`,
        From: USER,
        UseStoredPassword: false,
      });
      expect(res.json).toMatchObject({ Success: true, ErrorMessage: '' });
    });

    it('a refused password is Success false with the reason, HTTP 200, no password', async () => {
      const res = await server.post(TEST_PATH, {
        SmtpUri: `smtp://${enc(USER)}:${enc(WRONG)}@127.0.0.1:${smtp.port}`,
        From: USER,
        UseStoredPassword: false,
      });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ Success: false, TableRight: null, FieldProperties: {} });
      expect((res.json as { ErrorMessage: string }).ErrorMessage).toMatch(/auth/i);
    });

    it('smtps:// against a STARTTLS port fails at TLS', async () => {
      const res = await server.post(TEST_PATH, {
        SmtpUri: `smtps://${enc(USER)}:${enc(PASS)}@127.0.0.1:${smtp.port}`,
        From: USER,
        UseStoredPassword: false,
      });
      expect(res.json).toMatchObject({ Success: false });
    });

    it('$select nulls out the fields not asked for', async () => {
      const res = await server.post(`${TEST_PATH}?$select=Success`, {
        SmtpUri: `smtp://${enc(USER)}:${enc(PASS)}@127.0.0.1:${smtp.port}`,
        From: '',
        UseStoredPassword: false,
      });
      expect(res.json).toEqual({ Success: true, ErrorMessage: null, TableRight: null, FieldProperties: {} });
    });

    it('accepts text/json and property names in any case', async () => {
      const res = await server.post(
        TEST_PATH,
        {
          smtpUri: `smtp://${enc(USER)}:${enc(PASS)}@127.0.0.1:${smtp.port}`,
          from: USER,
          useStoredPassword: false,
        },
        { 'content-type': 'text/json' },
      );
      expect(res.json).toMatchObject({ Success: true });
    });

    it('UseStoredPassword uses the outgoing password saved for that server and user', async () => {
      const uri = `smtp://${enc(USER)}@127.0.0.1:${smtp.port}`;
      const before = await server.post(TEST_PATH, { SmtpUri: uri, From: USER, UseStoredPassword: true });
      expect(before.json).toMatchObject({
        Success: false,
        ErrorMessage: expect.stringMatching(/No stored password/),
      });

      const saved = await server.post(SAVE_PATH, {
        EMailAccount: {
          EMailAccountId: 0,
          EMailAddress: USER,
          OutgoingCredentials: {
            Server: '127.0.0.1',
            Port: smtp.port,
            AuthType: 'plain-text',
            Username: USER,
            Password: PASS,
          },
        },
      });
      expect(saved.status).toBe(200);
      const after = await server.post(TEST_PATH, { SmtpUri: uri, From: USER, UseStoredPassword: true });
      expect(after.json).toMatchObject({ Success: true, ErrorMessage: '' });
    });

    it.each([
      [
        'the documented placeholder SmtpUri',
        { SmtpUri: 'rerum', From: 'atque', UseStoredPassword: false },
        'SmtpUri',
      ],
      ['a missing SmtpUri', { From: USER, UseStoredPassword: false }, 'SmtpUri'],
      ['an unknown scheme', { SmtpUri: `imap://u:${PASS}@127.0.0.1:25` }, 'SmtpUri'],
      ['CR/LF in the host', { SmtpUri: `smtp://u:${enc(PASS)}@mail.example.test\r\nRCPT:25` }, 'SmtpUri'],
      ['a port out of range', { SmtpUri: `smtp://u:${enc(PASS)}@127.0.0.1:70000` }, 'SmtpUri'],
      ['port 0', { SmtpUri: `smtp://u:${enc(PASS)}@127.0.0.1:0` }, 'SmtpUri'],
      [
        'UseStoredPassword as a string',
        { SmtpUri: `smtp://127.0.0.1:25`, UseStoredPassword: 'yes' },
        'UseStoredPassword',
      ],
      ['a From with a line break', { SmtpUri: `smtp://127.0.0.1:25`, From: 'a@b\r\nRCPT TO:<x@y>' }, 'From'],
    ])('400 naming the field for %s', async (_name, body, field) => {
      const res = await server.post(TEST_PATH, body);
      expect(res.status).toBe(400);
      const json = res.json as { Error: string; ErrorType: string; Errors: { Field: string }[] };
      expect(json.ErrorType).toBe('ValidationError');
      expect(json.Errors.map((e) => e.Field)).toContain(field);
      expect(json.Error).toContain(`${field}:`);
      expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    });

    it('a body that is not JSON gets 400 without quoting the body', async () => {
      const res = await server.post(TEST_PATH, `{"SmtpUri": "smtp://u:${PASS}@h", oops`, {
        'content-type': 'application/json',
      });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({
        Error: expect.stringMatching(/not valid JSON/),
        ErrorType: 'BadRequest',
      });
    });
  });

  describe('SaveEMailAccount', () => {
    const account = (overrides: Record<string, unknown> = {}) => ({
      EMailAccountId: 0,
      EMailAddress: 'support@example.test',
      AssociateId: 7,
      IncomingCredentials: {
        ServiceAuthId: 0,
        Server: 'imap.example.test',
        Port: 993,
        AuthType: '',
        Username: 'support',
        Password: IMAP_PASS,
      },
      OutgoingCredentials: {
        ServiceAuthId: 0,
        Server: 'smtp.example.test',
        Port: 587,
        AuthType: '',
        Username: 'support',
        Password: PASS,
      },
      AccountStatus: 0,
      ErrorCount: 0,
      ErrorReason: '',
      ...overrides,
    });

    it('stores the DeliveryCheck/DeliveryTo extension; a save without it keeps the setting', async () => {
      const created = await server.post(SAVE_PATH, {
        EMailAccount: account({ DeliveryCheck: true, DeliveryTo: 'support+probe@example.test' }),
      });
      expect(created.status).toBe(200);
      const saved = created.json as SavedAccount & { DeliveryCheck?: boolean; DeliveryTo?: string };
      expect(saved).toMatchObject({ DeliveryCheck: true, DeliveryTo: 'support+probe@example.test' });
      const id = saved.EMailAccountId;
      const kept = await server.post(SAVE_PATH, { EMailAccount: account({ EMailAccountId: id }) });
      expect(kept.json).toMatchObject({ DeliveryCheck: true, DeliveryTo: 'support+probe@example.test' });
      const off = await server.post(SAVE_PATH, {
        EMailAccount: account({ EMailAccountId: id, deliverycheck: false }),
      });
      expect(off.json).not.toHaveProperty('DeliveryCheck');
      expect(off.json).not.toHaveProperty('MailboxQuota'); // never checked: no quota known
      const bad = await server.post(SAVE_PATH, {
        EMailAccount: account({ DeliveryCheck: true, DeliveryTo: 'nobody' }),
      });
      expect(bad.status).toBe(400);
    });

    it('creates with id 0 and returns the saved EMailAccount with passwords masked and Security defaulted', async () => {
      const res = await server.post(SAVE_PATH, { EMailAccount: account() });
      expect(res.status).toBe(200);
      const saved = res.json as SavedAccount;
      expect(saved.EMailAccountId).toBeGreaterThan(0);
      expect(saved).toMatchObject({
        EMailAddress: 'support@example.test',
        AssociateId: 7,
        AccountStatus: 0,
        ErrorCount: 0,
        ErrorReason: '',
        TableRight: null,
        FieldProperties: {},
        IncomingCredentials: {
          Server: 'imap.example.test',
          Port: 993,
          Username: 'support',
          Password: '****',
          Security: 'tls',
          AuthType: 'password',
        },
        OutgoingCredentials: {
          Server: 'smtp.example.test',
          Port: 587,
          Password: '****',
          Security: 'starttls',
        },
      });
      const stored = await repo.getAccountWithSecrets(saved.EMailAccountId);
      expect(stored?.incoming?.password).toBe(IMAP_PASS);
      expect(stored?.outgoing?.password).toBe(PASS);
    });

    it('updates; the mask sent back keeps the stored password', async () => {
      const created = (await server.post(SAVE_PATH, account())).json as SavedAccount;
      const update = { ...created, EMailAddress: 'helpdesk@example.test' };
      const res = await server.post(SAVE_PATH, { EMailAccount: update });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        EMailAccountId: created.EMailAccountId,
        EMailAddress: 'helpdesk@example.test',
      });
      const stored = await repo.getAccountWithSecrets(created.EMailAccountId);
      expect(stored?.outgoing?.password).toBe(PASS);
    });

    it('updating an id that does not exist is a 4xx, not a 500', async () => {
      const res = await server.post(SAVE_PATH, account({ EMailAccountId: 999_999 }));
      expect(res.status).toBe(404);
    });

    it.each([
      [
        'a port out of range',
        { IncomingCredentials: { Server: 'imap.example.test', Port: 0, Username: 'u', Password: 'x' } },
        'IncomingCredentials.Port',
      ],
      [
        'a port as a string',
        { OutgoingCredentials: { Server: 'smtp.example.test', Port: '587', Username: 'u', Password: 'x' } },
        'OutgoingCredentials.Port',
      ],
      [
        'CR/LF in a host name',
        {
          OutgoingCredentials: { Server: 'smtp.example.test\r\nX', Port: 587, Username: 'u', Password: 'x' },
        },
        'OutgoingCredentials.Server',
      ],
      [
        'a space in a host name',
        { OutgoingCredentials: { Server: 'smtp example.test', Port: 587, Username: 'u', Password: 'x' } },
        'OutgoingCredentials.Server',
      ],
      [
        'an unknown Security',
        {
          OutgoingCredentials: {
            Server: 'smtp.example.test',
            Port: 587,
            Username: 'u',
            Password: 'x',
            Security: 'ssl',
          },
        },
        'OutgoingCredentials.Security',
      ],
      ['a missing EMailAddress', { EMailAddress: undefined }, 'EMailAddress'],
      [
        'no credentials at all',
        { IncomingCredentials: null, OutgoingCredentials: null },
        'IncomingCredentials',
      ],
    ])('400 naming the field for %s, and nothing stored', async (_name, overrides, field) => {
      const before = (await repo.listAccounts()).total;
      const res = await server.post(SAVE_PATH, { EMailAccount: account(overrides) });
      expect(res.status).toBe(400);
      const json = res.json as { Errors: { Field: string }[] };
      expect(json.Errors.map((e) => e.Field)).toContain(field);
      expect((await repo.listAccounts()).total).toBe(before);
    });

    it('a new account without a password is refused by the repository with the field named', async () => {
      const before = (await repo.listAccounts()).total;
      const res = await server.post(
        SAVE_PATH,
        account({
          IncomingCredentials: null,
          OutgoingCredentials: { Server: 'smtp.example.test', Port: 587, Username: 'u', Password: '' },
        }),
      );
      expect(res.status).toBe(400);
      expect((res.json as { Error: string }).Error).toMatch(/OutgoingCredentials\.Password/);
      expect((await repo.listAccounts()).total).toBe(before);
    });
  });
});
