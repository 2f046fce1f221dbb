// SOAP 1.2 envelopes in SuperOffice's style: reading requests (any prefix), writing responses and
// faults with the prefixes of SuperOffice's published examples.
import { XMLBuilder } from 'fast-xml-parser';

import { parseXml, XmlSyntaxError, type XmlElement } from './xml.js';

export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const WS_ADDRESSING_NS = 'http://www.w3.org/2005/08/addressing';
export const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

export type FaultCode = 'Sender' | 'Receiver' | 'VersionMismatch' | 'MustUnderstand';

/** A SOAP fault to send. SOAP 1.2's HTTP binding: env:Sender is 400, every other fault 500. */
export class SoapFault extends Error {
  override name = 'SoapFault';
  readonly code: FaultCode;

  constructor(code: FaultCode, reason: string) {
    super(reason);
    this.code = code;
  }

  get httpStatus(): number {
    return this.code === 'Sender' ? 400 : 500;
  }
}

/** The namespace of a SuperOffice service, and the prefix its examples use for it. */
export interface SoapService {
  ns: string;
  prefix: string;
}

export interface SoapRequest {
  /** The single child of Body, e.g. TestSmtpServer. */
  operation: XmlElement;
}

function isMustUnderstand(block: XmlElement): boolean {
  const value = block.attrs.get(`{${SOAP12_NS}}mustUnderstand`)?.trim();
  return value === 'true' || value === '1';
}

/**
 * Reads a request envelope. SuperOffice's examples put ApplicationToken and Credentials directly
 * in the Envelope; standard clients put them in Header. Both are accepted; the Ticket is read
 * before this, by the authentication hook (soapTicket in http/auth.ts).
 */
export function readEnvelope(xml: string, service: SoapService): SoapRequest {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw new SoapFault('Sender', error.message);
    throw error;
  }
  if (root.local === 'Envelope' && root.ns === SOAP11_NS) {
    throw new SoapFault('VersionMismatch', 'SOAP 1.1 envelopes are not supported; send SOAP 1.2');
  }
  if (root.local !== 'Envelope' || root.ns !== SOAP12_NS) {
    throw new SoapFault('Sender', `the root element must be Envelope in ${SOAP12_NS}`);
  }
  const headers = root.children.filter((child) => child.ns === SOAP12_NS && child.local === 'Header');
  const bodies = root.children.filter((child) => child.ns === SOAP12_NS && child.local === 'Body');
  const body = bodies[0];
  if (bodies.length !== 1 || body === undefined || headers.length > 1) {
    throw new SoapFault('Sender', 'the Envelope must have one Body and at most one Header');
  }
  for (const block of headers[0]?.children ?? []) {
    const understood =
      (block.ns === service.ns && ['ApplicationToken', 'Credentials'].includes(block.local)) ||
      block.ns === WS_ADDRESSING_NS;
    if (!understood && isMustUnderstand(block)) {
      throw new SoapFault('MustUnderstand', `header block ${block.local} is not understood`);
    }
  }
  const [operation, ...extra] = body.children;
  if (operation === undefined || extra.length > 0) {
    throw new SoapFault('Sender', 'the Body must contain exactly one operation element');
  }
  return { operation };
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: ' ',
  suppressEmptyNode: false,
  processEntities: true,
});

/** An element body for XMLBuilder: attributes as `@_name`, text as `#text`, children by name. */
export type XmlNode = { [name: string]: string | XmlNode };

function document(envelope: XmlNode): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    'SOAP-ENV:Envelope': envelope,
  });
}

/** The namespace declarations every SuperOffice example envelope carries. */
function envelopeDeclarations(service: SoapService, serializationPrefix: string): XmlNode {
  return {
    '@_xmlns:SOAP-ENV': SOAP12_NS,
    '@_xmlns:SOAP-ENC': 'http://www.w3.org/2003/05/soap-encoding',
    '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
    '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
    [`@_xmlns:${serializationPrefix}2`]: 'http://schemas.microsoft.com/2003/10/Serialization/Arrays',
    [`@_xmlns:${serializationPrefix}1`]: 'http://schemas.microsoft.com/2003/10/Serialization/',
    [`@_xmlns:${service.prefix}`]: service.ns,
  };
}

/**
 * `<SOAP-ENV:Envelope ...><SOAP-ENV:Body><P:{operation}Response><P:Response xsi:type=...>`
 * with `content` (already prefixed) inside Response.
 */
export function responseEnvelope(
  service: SoapService & { serializationPrefix: string },
  operation: string,
  responseType: string,
  content: XmlNode,
): string {
  const p = service.prefix;
  return document({
    ...envelopeDeclarations(service, service.serializationPrefix),
    'SOAP-ENV:Body': {
      [`${p}:${operation}Response`]: {
        [`${p}:Response`]: { '@_xsi:type': `${p}:${responseType}`, ...content },
      },
    },
  });
}

/** `<P:name xsi:type="xsd:...">value</P:name>` as an XmlNode entry. */
export function leaf(xsdType: string, value: string | number | boolean): XmlNode {
  return { '@_xsi:type': xsdType, '#text': String(value) };
}

export function faultEnvelope(fault: SoapFault): string {
  const upgrade: XmlNode =
    fault.code === 'VersionMismatch'
      ? {
          'SOAP-ENV:Header': {
            'SOAP-ENV:Upgrade': {
              'SOAP-ENV:SupportedEnvelope': { '@_qname': 'SOAP-ENV:Envelope', '#text': '' },
            },
          },
        }
      : {};
  return document({
    '@_xmlns:SOAP-ENV': SOAP12_NS,
    ...upgrade,
    'SOAP-ENV:Body': {
      'SOAP-ENV:Fault': {
        'SOAP-ENV:Code': { 'SOAP-ENV:Value': `SOAP-ENV:${fault.code}` },
        'SOAP-ENV:Reason': { 'SOAP-ENV:Text': { '@_xml:lang': 'en', '#text': fault.message } },
      },
    },
  });
}
