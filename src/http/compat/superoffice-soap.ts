// SuperOffice NetServer SOAP 1.2: Services88 CustomerService TestSmtpServer and Services87 EMail
// SaveEMailAccount, request and response envelopes as in SuperOffice's published examples.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import type { CompatPluginOptions } from './deps.js';
import { CompatInputError, toClientError } from './errors.js';
import { fieldIssues } from '../../accounts/fields.js';
import {
  faultEnvelope,
  leaf,
  readEnvelope,
  responseEnvelope,
  SOAP_CONTENT_TYPE,
  SoapFault,
  type SoapService,
  type XmlNode,
} from './soap/envelope.js';
import { childrenNamed, type XmlElement } from './soap/xml.js';
import {
  maskEMailAccount,
  parseEMailAccount,
  type EMailAccountJson,
  type ServiceAuthJson,
} from '../../accounts/superoffice-schema.js';
import { runTestSmtpServer, testSmtpServerRequestSchema } from './superoffice-test-smtp.js';

export const CUSTOMER_SERVICE_SOAP_PATH = '/Remote/Services88/CustomerService.svc';
export const EMAIL_SOAP_PATH = '/Remote/Services87/EMail.svc';

const CUSTOMER_SERVICE: SoapService & { serializationPrefix: string } = {
  ns: 'http://www.superoffice.net/ws/crm/NetServer/Services88',
  prefix: 'CustomerService',
  serializationPrefix: 'NetServerServices88',
};
const EMAIL_SERVICE: SoapService & { serializationPrefix: string } = {
  ns: 'http://www.superoffice.net/ws/crm/NetServer/Services87',
  prefix: 'EMail',
  serializationPrefix: 'NetServerServices87',
};

const XSI_NIL = '{http://www.w3.org/2001/XMLSchema-instance}nil';
const INT_FIELDS = new Set([
  'EMailAccountId',
  'AssociateId',
  'ServiceAuthId',
  'Port',
  'AccountStatus',
  'ErrorCount',
]);
const BOOL_FIELDS = new Set(['UseStoredPassword', 'AcceptUnverifiedCert']);

/**
 * An element's children as JSON, typed the way the schema expects: xsd:int text becomes a number,
 * xsd:boolean ("true", "false", "1", "0") a boolean, xsi:nil null. Text that does not fit stays a
 * string, so the schema reports the field by name.
 */
function elementToJson(element: XmlElement, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const child of element.children) {
    if (child.local in out)
      throw new CompatInputError([{ path: `${path}${child.local}`, message: 'appears more than once' }]);
    const nil = child.attrs.get(XSI_NIL)?.trim();
    const text = child.text;
    if (nil === 'true' || nil === '1') out[child.local] = null;
    else if (child.children.length > 0) out[child.local] = elementToJson(child, `${path}${child.local}.`);
    else if (INT_FIELDS.has(child.local) && /^\s*[+-]?\d{1,10}\s*$/.test(text))
      out[child.local] = Number(text);
    else if (BOOL_FIELDS.has(child.local) && /^\s*(true|false|1|0)\s*$/.test(text)) {
      out[child.local] = ['true', '1'].includes(text.trim());
    } else out[child.local] = text;
  }
  return out;
}

function expectOperation(operation: XmlElement, service: SoapService, name: string): void {
  if (operation.ns !== service.ns || operation.local !== name) {
    throw new SoapFault(
      'Sender',
      `unsupported operation ${operation.local}; this endpoint serves ${name} in ${service.ns}`,
    );
  }
}

function authXml(p: string, auth: ServiceAuthJson | null): XmlNode {
  if (auth === null) return { '@_xsi:nil': 'true', '#text': '' };
  return {
    '@_xsi:type': `${p}:ServiceAuth`,
    [`${p}:ServiceAuthId`]: leaf('xsd:int', auth.ServiceAuthId),
    [`${p}:Server`]: leaf('xsd:string', auth.Server),
    [`${p}:Port`]: leaf('xsd:int', auth.Port),
    [`${p}:AuthType`]: leaf('xsd:string', auth.AuthType),
    [`${p}:Username`]: leaf('xsd:string', auth.Username),
    [`${p}:Password`]: leaf('xsd:string', auth.Password),
  };
}

/** The EMailAccount elements in the documented order (mailmon's Security extension is JSON-only). */
function accountXml(p: string, account: EMailAccountJson): XmlNode {
  return {
    [`${p}:EMailAccountId`]: leaf('xsd:int', account.EMailAccountId),
    [`${p}:EMailAddress`]: leaf('xsd:string', account.EMailAddress),
    [`${p}:AssociateId`]: leaf('xsd:int', account.AssociateId),
    [`${p}:IncomingCredentials`]: authXml(p, account.IncomingCredentials),
    [`${p}:OutgoingCredentials`]: authXml(p, account.OutgoingCredentials),
    [`${p}:AccountStatus`]: leaf('xsd:short', account.AccountStatus),
    [`${p}:ErrorCount`]: leaf('xsd:int', account.ErrorCount),
    [`${p}:ErrorReason`]: leaf('xsd:string', account.ErrorReason),
  };
}

function envelopeText(body: unknown): string {
  if (typeof body !== 'string' || body.trim() === '') {
    throw new SoapFault('Sender', 'expected a SOAP 1.2 envelope with Content-Type application/soap+xml');
  }
  return body;
}

function sendFault(reply: FastifyReply, fault: SoapFault, status = fault.httpStatus): FastifyReply {
  return reply.code(status).type(SOAP_CONTENT_TYPE).send(faultEnvelope(fault));
}

function useSoapParsingAndFaults(app: FastifyInstance): void {
  // application/soap+xml is SOAP 1.2's type; the XML types are accepted so a mislabelled request
  // gets a precise fault (e.g. VersionMismatch for SOAP 1.1) instead of a bare 415.
  for (const type of ['application/soap+xml', 'text/xml', 'application/xml']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  }
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof SoapFault) return sendFault(reply, error);
    const client = toClientError(error, request);
    const code = client.status >= 500 ? 'Receiver' : 'Sender';
    return sendFault(reply, new SoapFault(code, client.message), client.status);
  });
}

/** Registers the two SuperOffice SOAP 1.2 endpoints. Options: `{ deps }`. */
export const superOfficeSoapRoutes: FastifyPluginAsyncZod<CompatPluginOptions> = async (app, { deps }) => {
  useSoapParsingAndFaults(app);
  const soapSchema = { consumes: ['application/soap+xml'], produces: ['application/soap+xml'] };

  app.post(
    CUSTOMER_SERVICE_SOAP_PATH,
    {
      schema: { ...soapSchema, summary: 'SuperOffice Services88 CustomerService (SOAP 1.2): TestSmtpServer' },
    },
    async (request, reply) => {
      const { operation } = readEnvelope(envelopeText(request.body), CUSTOMER_SERVICE);
      expectOperation(operation, CUSTOMER_SERVICE, 'TestSmtpServer');
      const parsed = testSmtpServerRequestSchema.safeParse(elementToJson(operation, ''));
      if (!parsed.success) throw new CompatInputError(fieldIssues(parsed.error.issues));
      const outcome = await runTestSmtpServer(deps, parsed.data);
      const p = CUSTOMER_SERVICE.prefix;
      const xml = responseEnvelope(CUSTOMER_SERVICE, 'TestSmtpServer', 'SmtpTestResult', {
        [`${p}:Success`]: leaf('xsd:boolean', outcome.Success),
        [`${p}:ErrorMessage`]: leaf('xsd:string', outcome.ErrorMessage),
      });
      return reply.type(SOAP_CONTENT_TYPE).send(xml);
    },
  );

  app.post(
    EMAIL_SOAP_PATH,
    { schema: { ...soapSchema, summary: 'SuperOffice Services87 EMail (SOAP 1.2): SaveEMailAccount' } },
    async (request, reply) => {
      const { operation } = readEnvelope(envelopeText(request.body), EMAIL_SERVICE);
      expectOperation(operation, EMAIL_SERVICE, 'SaveEMailAccount');
      const element = childrenNamed(operation, 'EMailAccount')[0];
      if (element === undefined)
        throw new CompatInputError([{ path: 'EMailAccount', message: 'is required' }]);
      const parsed = parseEMailAccount(elementToJson(element, 'EMailAccount.'), 'EMailAccount');
      if (!parsed.ok) throw new CompatInputError(parsed.issues);
      const saved = maskEMailAccount(await deps.saveEMailAccount(parsed.account));
      const xml = responseEnvelope(
        EMAIL_SERVICE,
        'SaveEMailAccount',
        'EMailAccount',
        accountXml(EMAIL_SERVICE.prefix, saved),
      );
      return reply.type(SOAP_CONTENT_TYPE).send(xml);
    },
  );
};
