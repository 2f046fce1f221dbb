// Spellings of dangerous addresses, shared by the policy, resolver and no-connection tests.
import fc from 'fast-check';

/** Every spelling here means 127.0.0.1 (IPv4 or IPv4-mapped IPv6). */
export const LOOPBACK_V4_SPELLINGS = [
  '127.0.0.1',
  '2130706433', // decimal
  '017700000001', // octal
  '0x7f000001', // hex
  '0X7F000001',
  '0177.0.0.1', // octal first part
  '0177.0000.0000.0001',
  '127.000.000.001', // leading zeros read as octal: still 127.0.0.1
  '0x7f.0.0.1', // hex first part
  '0x7f.0x0.0x0.0x1',
  '127.1', // short forms
  '127.0.1',
  '0x7f.1',
  '0177.1',
  '0x7f.0.1',
  '127.0x0.01', // mixed
  '0x7f.0.0x0.01',
  '127.0.0.1.', // trailing dot
  '\uff11\uff12\uff17.\uff10.\uff10.\uff11', // full-width digits
  '::ffff:127.0.0.1', // IPv4-mapped IPv6
  '::FFFF:7F00:1',
  '::ffff:7f00:1',
  '0:0:0:0:0:ffff:7f00:1',
  '0000:0000:0000:0000:0000:ffff:127.0.0.1',
  '[::ffff:127.0.0.1]', // bracketed
  '[::ffff:7f00:1]',
];

/** Every spelling here means ::1. */
export const LOOPBACK_V6_SPELLINGS = [
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  '::0:1',
  '0000::0001',
  '[0::1]',
  '::0001',
];

/** IPv6 addresses that carry 127.0.0.1 inside them. */
export const LOOPBACK_EMBEDDED_SPELLINGS = [
  '::127.0.0.1', // IPv4-compatible
  '::7f00:1',
  '[::7f00:1]',
  '::ffff:0:127.0.0.1', // IPv4-translated
  '64:ff9b::127.0.0.1', // NAT64
  '64:ff9b::7f00:1',
  '[64:ff9b::127.0.0.1]',
  '64:FF9B:0:0:0:0:7F00:1',
];

/** 6to4 (2002::/16) and Teredo (2001::/32) addresses that tunnel to 127.0.0.1. */
export const LOOPBACK_TUNNEL_SPELLINGS = [
  '2002:7f00:1::1', // 6to4
  '2002:7F00:0001:0000:0000:0000:0000:0001',
  '[2002:7f00:1::]',
  '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo: client 127.0.0.1 stored inverted
  '2001::80ff:fffe',
  '[2001:0000::80FF:FFFE]',
];

/** Addresses in ranges refused by default; each maps to the rule that refuses it. */
export const TRANSLATED_AND_RESERVED_SPELLINGS: ReadonlyArray<readonly [string, string]> = [
  ['64:ff9b:1::1', 'nat64-local'], // local-use NAT64 (RFC 8215)
  ['64:ff9b:1:ffff:ffff:ffff:ffff:ffff', 'nat64-local'],
  ['[64:ff9b:1::c000:201]', 'nat64-local'],
  ['64:FF9B:0001::A00:1', 'nat64-local'],
  ['2001::1', 'teredo'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'], // RFC 4380's example: a public client
  ['[2001:0:0:0:0:0:0:1]', 'teredo'],
  ['2002:c000:201::1', '6to4'], // 6to4 of the public 192.0.2.1
  ['2002::', '6to4'],
  ['[2002:FFFF:FFFF::1]', '6to4'],
  ['fec0::1', 'site-local'],
  ['FEC0:0:0:0:0:0:0:1', 'site-local'],
  ['feff:ffff::1', 'site-local'],
  ['[fec0::1%eth0]', 'site-local'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['3323068417', 'benchmarking'], // decimal 198.18.0.1
  ['0xc6120001', 'benchmarking'],
  ['0306.022.0.1', 'benchmarking'],
  ['198.18.1', 'benchmarking'],
  ['::ffff:198.18.0.1', 'benchmarking'],
  ['64:ff9b::c612:1', 'benchmarking'], // NAT64 well-known prefix embedding 198.18.0.1
  ['0.0.0.1', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['0x00ffffff', 'unspecified'],
  ['00.0.0.7', 'unspecified'],
  ['64:ff9b::0.1.2.3', 'unspecified'],
  ['255.255.255.255.', 'broadcast'],
  ['0xff.0xff.0xff.0xff', 'broadcast'],
  ['0377.0377.0377.0377', 'broadcast'],
  ['255.16777215', 'broadcast'],
  ['::ffff:255.255.255.255', 'broadcast'],
  ['64:ff9b::ffff:ffff', 'broadcast'],
  ['[::ffff:ffff:ffff]', 'broadcast'],
];

/** CGNAT 100.64.0.0/10: private, refused only with egress.denyPrivate. */
export const CGNAT_SPELLINGS = [
  '100.64.0.1',
  '100.127.255.255',
  '1681915905', // decimal 100.64.0.1
  '0x64400001',
  '0144.0100.0.1',
  '100.4194305',
  '::ffff:100.64.0.1',
  '64:ff9b::6440:1',
];

export const LINK_LOCAL_SPELLINGS = [
  '169.254.1.1',
  '2851995905', // decimal
  '0xa9fe0101',
  '0251.0376.01.01',
  '169.254.257', // short form: last part 0x0101
  '169.16646401',
  '::ffff:169.254.1.1',
  '[::ffff:a9fe:101]',
  'fe80::1',
  'FE80::ABCD',
  'febf:ffff::1',
  '[fe80::1]',
  'fe80::1%eth0', // zone
  'fe80::1%2',
  '[fe80::1%25eth0]', // RFC 6874 zone in brackets
  '[fe80::1%eth0]',
];

export const METADATA_SPELLINGS = [
  '169.254.169.254',
  '2852039166', // decimal
  '0xa9fea9fe', // hex
  '0XA9FEA9FE',
  '0251.0376.0251.0376', // octal
  '0xa9.0xfe.0xa9.0xfe',
  '0251.0xfe.169.0376', // mixed
  '169.254.43518', // short forms
  '169.16689662',
  '0xa9.16689662',
  '169.254.169.254.',
  '::ffff:169.254.169.254', // IPv4-mapped
  '::ffff:a9fe:a9fe',
  '[::ffff:a9fe:a9fe]',
  '64:ff9b::169.254.169.254', // NAT64
  'fd00:ec2::254', // AWS IMDS over IPv6
  '[fd00:ec2::254]',
  'FD00:EC2:0:0:0:0:0:254',
  '100.100.100.200', // Alibaba Cloud
];

export type Radix = 'dec' | 'oct' | 'hex';

/** Write one part of an inet_aton-style IPv4 address in the given radix. */
export function writePart(value: number, radix: Radix, upper: boolean, zeros: number): string {
  const pad = '0'.repeat(zeros);
  if (radix === 'dec') return String(value);
  if (radix === 'oct') return `0${pad}${value.toString(8)}`;
  const digits = value.toString(16);
  return `${upper ? '0X' : '0x'}${pad}${upper ? digits.toUpperCase() : digits}`;
}

/**
 * A 32-bit value written as 1-4 inet_aton parts (a, a.b, a.b.c, a.b.c.d: the last part fills the
 * remaining bytes), each part in a random radix, letter case and zero padding, maybe a trailing dot.
 */
export function arbitraryIpv4Spelling(
  value: fc.Arbitrary<number>,
): fc.Arbitrary<{ value: number; spelling: string }> {
  const partStyle = fc.record({
    radix: fc.constantFrom<Radix>('dec', 'oct', 'hex'),
    upper: fc.boolean(),
    zeros: fc.integer({ min: 0, max: 3 }),
  });
  return fc
    .record({
      value,
      count: fc.integer({ min: 1, max: 4 }),
      styles: fc.array(partStyle, { minLength: 4, maxLength: 4 }),
      trailingDot: fc.boolean(),
    })
    .map(({ value, count, styles, trailingDot }) => {
      const bytes = [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
      const leading = bytes.slice(0, count - 1);
      const rest = bytes.slice(count - 1).reduce((acc, byte) => acc * 256 + byte, 0);
      const parts = [...leading, rest].map((part, i) => {
        const style = styles[i] as { radix: Radix; upper: boolean; zeros: number };
        return writePart(part, style.radix, style.upper, style.zeros);
      });
      return { value, spelling: parts.join('.') + (trailingDot ? '.' : '') };
    });
}

export function dottedQuad(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}
