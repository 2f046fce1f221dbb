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
  '2002:7f00:1::1', // 6to4
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
