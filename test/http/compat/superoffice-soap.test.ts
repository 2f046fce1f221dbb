// SuperOffice SOAP 1.2 endpoints over real HTTP: the documented envelopes in, the documented
// envelopes (or SOAP faults) out.
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KnexAccountRepository } from '../../../src/db/account-store.js';
import { superOfficeSoapRoutes } from '../../../src/http/compat/index.js';
import { sqliteTestDb, type TestDb } from '../../helpers/databases.js';
import { testKeyring } from '../../helpers/keyring.js';
import { startSmtpServer, type TestSmtpServer } from '../../peers/smtp.js';
import {
  createProbeRunner,
  leakedSecrets,
  repositoryDeps,
  startCompatServer,
  type CompatServer,
} from './helpers.js';
import {
  saveEMailAccountEnvelope,
  testSmtpEnvelope,
  xmlEscape,
  type SoapServiceAuth,
} from './soap-envelopes.js';

const USER = 'soap.user@example.test';
const PASS = 'Soap-Secret<&>"pw-4410';
const WRONG = 'Soap-Wrong-Pass-9123';
const IMAP_PASS = 'Soap-Imap-Secret-5521';
const CS_PATH = '/Remote/Services88/CustomerService.svc';
const EMAIL_PATH = '/Remote/Services87/EMail.svc';

type AuthValues = Omit<SoapServiceAuth, 'username'>;

/** SaveEMailAccount with USER on both sides. */
const saveEnvelope = (id: string, address: string, incoming: AuthValues, outgoing: AuthValues) =>
  saveEMailAccountEnvelope(id, address, { ...incoming, username: USER }, { ...outgoing, username: USER });

// Reads responses keeping prefixes, so the tests see the documented element names exactly.
const reader = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  trimValues: true,
});
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a parsed document by element names
const read = (xml: string) => reader.parse(xml) as Record<string, any>;

function faultOf(xml: string): { code: string; reason: string } {
  const fault = read(xml)['SOAP-ENV:Envelope']['SOAP-ENV:Body']['SOAP-ENV:Fault'];
  return {
    code: fault['SOAP-ENV:Code']['SOAP-ENV:Value'],
    reason: fault['SOAP-ENV:Reason']['SOAP-ENV:Text']['#text'],
  };
}

describe('SuperOffice SOAP compat', () => {
  let smtp: TestSmtpServer;
  let db: TestDb;
  let repo: KnexAccountRepository;
  let server: CompatServer;

  beforeAll(async () => {
    [smtp, db] = await Promise.all([
      startSmtpServer({ users: [{ user: USER, pass: PASS }] }),
      sqliteTestDb(),
    ]);
    repo = new KnexAccountRepository(db.db.knex, testKeyring());
    const probes = createProbeRunner(smtp.caPem);
    server = await startCompatServer(superOfficeSoapRoutes, {
      testTargets: probes.testTargets,
      ...repositoryDeps(repo),
    });
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([smtp?.stop(), db?.cleanup()]);
  });

  afterAll(() => {
    const escaped = xmlEscape(PASS);
    expect(leakedSecrets(server.bodies, [PASS, escaped, WRONG, IMAP_PASS, encodeURIComponent(PASS)])).toEqual(
      [],
    );
  });

  const uri = (pass: string) =>
    `smtp://${encodeURIComponent(USER)}:${encodeURIComponent(pass)}@127.0.0.1:${smtp.port}`;

  describe('TestSmtpServer', () => {
    it('answers the documented request with the documented SmtpTestResult envelope', async () => {
      const res = await server.post(CS_PATH, testSmtpEnvelope(uri(PASS), USER, 'false'));
      expect(res.status).toBe(200);
      expect(res.contentType).toMatch(/^application\/soap\+xml/);
      const env = read(res.text)['SOAP-ENV:Envelope'];
      expect(env['@xmlns:SOAP-ENV']).toBe('http://www.w3.org/2003/05/soap-envelope');
      expect(env['@xmlns:CustomerService']).toBe('http://www.superoffice.net/ws/crm/NetServer/Services88');
      const response =
        env['SOAP-ENV:Body']['CustomerService:TestSmtpServerResponse']['CustomerService:Response'];
      expect(response['@xsi:type']).toBe('CustomerService:SmtpTestResult');
      expect(response['CustomerService:Success']).toEqual({ '#text': 'true', '@xsi:type': 'xsd:boolean' });
      expect(res.text).toContain(
        '<CustomerService:ErrorMessage xsi:type="xsd:string"></CustomerService:ErrorMessage>',
      );
    });

    it('reports a refused password as Success false with the reason', async () => {
      const res = await server.post(CS_PATH, testSmtpEnvelope(uri(WRONG), USER, 'false'));
      expect(res.status).toBe(200);
      const response = read(res.text)['SOAP-ENV:Envelope']['SOAP-ENV:Body'][
        'CustomerService:TestSmtpServerResponse'
      ]['CustomerService:Response'];
      expect(response['CustomerService:Success']['#text']).toBe('false');
      expect(response['CustomerService:ErrorMessage']['#text']).toMatch(/auth/i);
    });

    it('accepts any prefix, a default namespace and the tokens inside a standard Header', async () => {
      const xml = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>
        <ApplicationToken xmlns="http://www.superoffice.net/ws/crm/NetServer/Services88">tok</ApplicationToken>
        <a:Action s:mustUnderstand="1" xmlns:a="http://www.w3.org/2005/08/addressing">TestSmtpServer</a:Action>
      </s:Header><s:Body><TestSmtpServer xmlns="http://www.superoffice.net/ws/crm/NetServer/Services88">
        <SmtpUri>${xmlEscape(uri(PASS))}</SmtpUri><From>${USER}</From><UseStoredPassword>0</UseStoredPassword>
      </TestSmtpServer></s:Body></s:Envelope>`;
      const res = await server.post(CS_PATH, xml);
      expect(res.status).toBe(200);
      expect(res.text).toContain(
        '<CustomerService:Success xsi:type="xsd:boolean">true</CustomerService:Success>',
      );
    });

    it.each([
      [
        'XML that is not well-formed',
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"><SOAP-ENV:Body>',
      ],
      ['not XML at all', 'SmtpUri=smtp://x'],
      ['an empty body', ' '],
      ['a root that is not Envelope', '<Body xmlns="http://www.w3.org/2003/05/soap-envelope"/>'],
      ['an envelope without Body', '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"/>'],
      [
        'an undeclared prefix',
        '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x:TestSmtpServer/></e:Body></e:Envelope>',
      ],
      [
        'an entity-expansion DTD',
        '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>&b;</e:Body></e:Envelope>',
      ],
      [
        'an unsupported operation',
        testSmtpEnvelope('x', '', 'false').replace(/TestSmtpServer>/g, 'GetSystemInfo>'),
      ],
    ])('%s gets a SOAP 1.2 Sender fault with HTTP 400', async (_name, xml) => {
      const res = await server.post(CS_PATH, xml);
      expect(res.status).toBe(400);
      expect(res.contentType).toMatch(/^application\/soap\+xml/);
      expect(faultOf(res.text).code).toBe('SOAP-ENV:Sender');
    });

    it('a SOAP 1.1 envelope gets VersionMismatch (HTTP 500, as SOAP 1.2 says for non-Sender faults)', async () => {
      const xml = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>';
      const res = await server.post(CS_PATH, xml, { 'content-type': 'text/xml; charset=utf-8' });
      expect(res.status).toBe(500);
      expect(faultOf(res.text).code).toBe('SOAP-ENV:VersionMismatch');
    });

    it('a mustUnderstand header it does not understand gets a MustUnderstand fault', async () => {
      const xml = testSmtpEnvelope(uri(PASS), USER, 'false').replace(
        ' <SOAP-ENV:Body>',
        ' <SOAP-ENV:Header><x:Tx xmlns:x="urn:example:tx" SOAP-ENV:mustUnderstand="true">1</x:Tx></SOAP-ENV:Header>\n <SOAP-ENV:Body>',
      );
      const res = await server.post(CS_PATH, xml);
      expect(res.status).toBe(500);
      expect(faultOf(res.text).code).toBe('SOAP-ENV:MustUnderstand');
    });

    it.each([
      [
        'an SmtpUri with CR/LF in the host',
        () => 'smtp://u:p@mail.example.test&#13;&#10;X:25',
        'false',
        'SmtpUri',
      ],
      [
        'a port out of range',
        () => xmlEscape(`smtp://u:${encodeURIComponent(PASS)}@127.0.0.1:99999`),
        'false',
        'SmtpUri',
      ],
      ['a boolean that is not xsd:boolean', () => xmlEscape(uri(PASS)), 'yes', 'UseStoredPassword'],
    ])('%s gets a Sender fault naming the field', async (_name, smtpUriXml, useStored, field) => {
      const xml = testSmtpEnvelope('PLACEHOLDER', USER, useStored).replace('PLACEHOLDER', smtpUriXml());
      const res = await server.post(CS_PATH, xml);
      expect(res.status).toBe(400);
      const fault = faultOf(res.text);
      expect(fault.code).toBe('SOAP-ENV:Sender');
      expect(fault.reason).toContain(`${field}:`);
    });
  });

  describe('SaveEMailAccount', () => {
    const good = () =>
      saveEnvelope(
        '0',
        USER,
        { server: '127.0.0.1', port: '993', password: IMAP_PASS },
        { server: '127.0.0.1', port: String(smtp.port), password: PASS },
      );

    it('answers the documented request with the documented EMailAccount envelope, passwords masked', async () => {
      const res = await server.post(EMAIL_PATH, good());
      expect(res.status).toBe(200);
      const env = read(res.text)['SOAP-ENV:Envelope'];
      expect(env['@xmlns:EMail']).toBe('http://www.superoffice.net/ws/crm/NetServer/Services87');
      expect(env['@xmlns:NetServerServices872']).toBe(
        'http://schemas.microsoft.com/2003/10/Serialization/Arrays',
      );
      const account = env['SOAP-ENV:Body']['EMail:SaveEMailAccountResponse']['EMail:Response'];
      expect(account['@xsi:type']).toBe('EMail:EMailAccount');
      expect(Object.keys(account).filter((k) => k.startsWith('EMail:'))).toEqual([
        'EMail:EMailAccountId',
        'EMail:EMailAddress',
        'EMail:AssociateId',
        'EMail:IncomingCredentials',
        'EMail:OutgoingCredentials',
        'EMail:AccountStatus',
        'EMail:ErrorCount',
        'EMail:ErrorReason',
      ]);
      const id = Number(account['EMail:EMailAccountId']['#text']);
      expect(id).toBeGreaterThan(0);
      expect(account['EMail:AccountStatus']).toEqual({ '#text': '0', '@xsi:type': 'xsd:short' });
      const outgoing = account['EMail:OutgoingCredentials'];
      expect(outgoing['@xsi:type']).toBe('EMail:ServiceAuth');
      expect(Object.keys(outgoing).filter((k) => k.startsWith('EMail:'))).toEqual([
        'EMail:ServiceAuthId',
        'EMail:Server',
        'EMail:Port',
        'EMail:AuthType',
        'EMail:Username',
        'EMail:Password',
      ]);
      expect(outgoing['EMail:Password']['#text']).toBe('****');
      expect(account['EMail:IncomingCredentials']['EMail:Password']['#text']).toBe('****');
      // The XML-escaped password arrived decoded, exactly once.
      expect(await repo.findStoredPassword('smtp', '127.0.0.1', smtp.port, USER)).toBe(PASS);
      const stored = await repo.getAccountWithSecrets(id);
      expect(stored?.incoming).toMatchObject({ password: IMAP_PASS, security: 'tls', port: 993 });
    });

    it('the saved password then serves TestSmtpServer UseStoredPassword over SOAP', async () => {
      const res = await server.post(
        CS_PATH,
        testSmtpEnvelope(`smtp://${encodeURIComponent(USER)}@127.0.0.1:${smtp.port}`, USER, 'true'),
      );
      expect(res.text).toContain(
        '<CustomerService:Success xsi:type="xsd:boolean">true</CustomerService:Success>',
      );
    });

    it.each([
      ['a port that is not an int', { port: 'abc' }, 'EMail:Port'],
      ['a port out of range', { port: '70000' }, 'EMail:Port'],
      ['a host with a line break', { server: 'smtp.example.test&#10;X' }, 'EMail:Server'],
    ])('%s gets a Sender fault naming the field, and nothing is stored', async (_name, change, element) => {
      const before = (await repo.listAccounts()).total;
      const outgoing = { server: '127.0.0.1', port: String(smtp.port), password: PASS, ...change };
      const res = await server.post(
        EMAIL_PATH,
        saveEnvelope('0', USER, { server: '127.0.0.1', port: '993', password: IMAP_PASS }, outgoing),
      );
      expect(res.status).toBe(400);
      const fault = faultOf(res.text);
      expect(fault.code).toBe('SOAP-ENV:Sender');
      expect(fault.reason).toContain(`EMailAccount.OutgoingCredentials.${element.slice(6)}:`);
      expect((await repo.listAccounts()).total).toBe(before);
    });

    it('the documented sample with its empty values is refused, naming the fields', async () => {
      const res = await server.post(
        EMAIL_PATH,
        saveEnvelope(
          '0',
          '',
          { server: '', port: '0', password: '' },
          { server: '', port: '0', password: '' },
        ),
      );
      expect(res.status).toBe(400);
      const { reason } = faultOf(res.text);
      expect(reason).toContain('EMailAccount.EMailAddress:');
      expect(reason).toContain('EMailAccount.IncomingCredentials.Server:');
      expect(reason).toContain('EMailAccount.OutgoingCredentials.Port:');
    });
  });
});
