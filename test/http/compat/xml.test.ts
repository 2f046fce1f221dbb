import { describe, expect, it } from 'vitest';

import { decodeEntities, parseXml, XmlSyntaxError } from '../../../src/http/compat/soap/xml.js';

describe('decodeEntities', () => {
  it('decodes the predefined entities and character references in one pass', () => {
    expect(decodeEntities('a &lt;b&gt; &amp;amp; &quot;&apos; &#65;&#x42;&#x1F600;')).toBe(
      'a <b> &amp; "\' AB😀',
    );
  });

  it.each(['&foo;', '&', 'a & b', '&#xD800;', '&#1114112;', '&amp'])('refuses %j', (raw) => {
    expect(() => decodeEntities(raw)).toThrow(XmlSyntaxError);
  });
});

describe('parseXml', () => {
  it('resolves namespaces for any prefix and the default namespace', () => {
    const root = parseXml(
      '<a:Env xmlns:a="urn:env" xmlns="urn:dflt"><Child x="1" a:y="2">t&amp;<![CDATA[<c>]]><!-- no --></Child><b:X xmlns:b="urn:b"/></a:Env>',
    );
    expect(root).toMatchObject({ ns: 'urn:env', local: 'Env' });
    const [child, x] = root.children;
    expect(child).toMatchObject({ ns: 'urn:dflt', local: 'Child', text: 't&<c>' });
    expect(child?.attrs).toEqual(
      new Map([
        ['x', '1'],
        ['{urn:env}y', '2'],
      ]),
    );
    expect(x).toMatchObject({ ns: 'urn:b', local: 'X' });
  });

  it.each([
    ['a DTD', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'],
    ['an undefined entity', '<a>&x;</a>'],
    ['two roots', '<a/><b/>'],
    ['text only', 'hello'],
    ['nothing', ''],
    ['an unclosed tag', '<a><b></a>'],
    ['an undeclared prefix', '<p:a/>'],
    ['deep nesting', '<a>'.repeat(100) + '</a>'.repeat(100)],
  ])('refuses %s', (_name, xml) => {
    expect(() => parseXml(xml)).toThrow(XmlSyntaxError);
  });

  it('refuses documents built to be expensive before walking them', () => {
    // Many namespace declarations on the root and many elements under it: each element used to copy
    // the whole namespace scope (this one took seconds; it is parsed before authentication).
    let declarations = '';
    for (let i = 0; i < 8000; i++) declarations += ` xmlns:a${i}="urn:a${i}"`;
    expect(() => parseXml(`<r${declarations}>${'<c/>'.repeat(30_000)}</r>`)).toThrow(XmlSyntaxError);
    expect(() => parseXml(`<r${declarations}><c/></r>`)).toThrow(/more than 64 namespace declarations/);
    expect(() => parseXml(`<r>${'<c/>'.repeat(1_001)}</r>`)).toThrow(/more than 1000 tags/);
    // Just inside the bounds still parses, with namespaces resolved.
    const root = parseXml(
      `<r xmlns="urn:r" ${declarations.split(' ').slice(1, 60).join(' ')}>${'<c/>'.repeat(998)}</r>`,
    );
    expect(root.children).toHaveLength(998);
    expect(root.children[0]?.ns).toBe('urn:r');
  });

  it('does not quote element text in its error (a stray "<" in a password makes a tag)', () => {
    try {
      parseXml('<a><Password>Sec<ret-Pw-123</Password></a>');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toMatch(/ret-Pw|Sec/);
    }
  });
});
