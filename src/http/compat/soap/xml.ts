// A small, safe XML reader for SOAP envelopes: fast-xml-parser for the syntax, then namespaces
// resolved here so any prefix works. No DTDs (SOAP 1.2 forbids them, and they are how entity
// expansion attacks arrive), no entity processing beyond XML's five predefined entities and
// character references, decoded in one pass.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  /** Namespace URI, '' when the element is in no namespace. */
  ns: string;
  local: string;
  /** Attributes by `{ns}local` (or `local` when unqualified), values decoded. xmlns declarations excluded. */
  attrs: Map<string, string>;
  children: XmlElement[];
  /** Concatenated character data (text and CDATA) directly inside this element, decoded. */
  text: string;
}

export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
/** Deep enough for any SuperOffice carrier; deeper input is refused rather than walked. */
const MAX_DEPTH = 32;
/**
 * A SuperOffice envelope has a few dozen elements and a dozen namespace declarations. These bounds
 * are far above that and keep a document built to be expensive (and parsed before authentication,
 * to find the Ticket) from holding the event loop: it is refused after one linear scan.
 */
const MAX_TAGS = 1_000;
const MAX_NAMESPACE_DECLARATIONS = 64;

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes XML's predefined entities and character references; any other entity is an error. */
export function decodeEntities(raw: string): string {
  return raw.replace(/&([^;&\s]{0,10});?/g, (match, name: string) => {
    if (!match.endsWith(';')) throw new XmlSyntaxError('a bare "&" is not allowed; write &amp;');
    const predefined = PREDEFINED[name];
    if (predefined !== undefined) return predefined;
    const code = /^#x[0-9a-fA-F]{1,6}$/.test(name)
      ? parseInt(name.slice(2), 16)
      : /^#[0-9]{1,7}$/.test(name)
        ? parseInt(name.slice(1), 10)
        : NaN;
    if (Number.isNaN(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw new XmlSyntaxError('undefined entity (DTD entities are not supported)');
    }
    return String.fromCodePoint(code);
  });
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
  maxNestedTags: MAX_DEPTH,
});

type RawNode = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;

function splitName(qname: string): [prefix: string, local: string] {
  const colon = qname.indexOf(':');
  return colon === -1 ? ['', qname] : [qname.slice(0, colon), qname.slice(colon + 1)];
}

function resolve(scope: Scope, prefix: string, isAttribute: boolean): string {
  if (prefix === 'xml') return XML_NS;
  if (prefix === '' && isAttribute) return '';
  const ns = scope.get(prefix);
  if (ns === undefined) {
    if (prefix === '') return '';
    throw new XmlSyntaxError('an element or attribute uses a namespace prefix that is not declared');
  }
  return ns;
}

function textOf(nodes: RawNode[]): string {
  return nodes.map((node) => (typeof node['#text'] === 'string' ? node['#text'] : '')).join('');
}

function toElement(qname: string, node: RawNode, parentScope: Scope, depth: number): XmlElement {
  if (depth > MAX_DEPTH) throw new XmlSyntaxError('elements nested too deeply');
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  // Most elements declare nothing and share their parent's scope; copying it for every element
  // would cost elements × declarations.
  let scope = parentScope;
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name !== 'xmlns' && !name.startsWith('xmlns:')) continue;
    if (scope === parentScope) scope = new Map(parentScope);
    (scope as Map<string, string>).set(name === 'xmlns' ? '' : name.slice(6), decodeEntities(value));
  }
  const [prefix, local] = splitName(qname);
  const attrs = new Map<string, string>();
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    const [attrPrefix, attrLocal] = splitName(name);
    const ns = resolve(scope, attrPrefix, true);
    attrs.set(ns === '' ? attrLocal : `{${ns}}${attrLocal}`, decodeEntities(value));
  }
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[qname] ?? []) as RawNode[]) {
    if ('#text' in child) text += decodeEntities(String(child['#text']));
    else if ('#cdata' in child) text += textOf(child['#cdata'] as RawNode[]);
    else if (!('#comment' in child)) {
      const childName = Object.keys(child).find((key) => key !== ':@');
      if (childName !== undefined) children.push(toElement(childName, child, scope, depth + 1));
    }
  }
  return { ns: resolve(scope, prefix, false), local, attrs, children, text };
}

/** Parses a document with exactly one root element; throws XmlSyntaxError on anything else. */
export function parseXml(xml: string): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml))
    throw new XmlSyntaxError('a document type declaration (DTD) is not allowed');
  if (occurrences(xml, '<') > MAX_TAGS)
    throw new XmlSyntaxError(`more than ${MAX_TAGS} tags; a SOAP request needs far fewer`);
  if (occurrences(xml, 'xmlns') > MAX_NAMESPACE_DECLARATIONS) {
    throw new XmlSyntaxError(
      `more than ${MAX_NAMESPACE_DECLARATIONS} namespace declarations; a SOAP request needs far fewer`,
    );
  }
  const valid = XMLValidator.validate(xml);
  // The validator's own messages quote tag names, and a stray '<' inside a password makes part of
  // the password a tag name: report only the kind of error and where.
  if (valid !== true) {
    throw new XmlSyntaxError(
      `not well-formed XML (${valid.err.code} at line ${valid.err.line}, column ${valid.err.col})`,
    );
  }
  let nodes: RawNode[];
  try {
    nodes = parser.parse(xml) as RawNode[];
  } catch {
    throw new XmlSyntaxError('not well-formed XML');
  }
  const roots = nodes.filter(
    (node) => !('#text' in node && String(node['#text']).trim() === '') && !('#comment' in node),
  );
  const root = roots[0];
  const rootName = root === undefined ? undefined : Object.keys(root).find((key) => key !== ':@');
  if (roots.length !== 1 || root === undefined || rootName === undefined || rootName.startsWith('#')) {
    throw new XmlSyntaxError('the document must have exactly one root element');
  }
  return toElement(rootName, root, new Map(), 0);
}

/** Child elements (any namespace) with the given local name. */
export function childrenNamed(element: XmlElement, local: string): XmlElement[] {
  return element.children.filter((child) => child.local === local);
}

function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}
