import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHost, parseIp } from '../../src/egress/address.js';
import { DEFAULT_EGRESS_CONFIG } from '../../src/egress/config.js';
import { decide } from '../../src/egress/policy.js';
import { arbitraryIpv4Spelling, dottedQuad } from './spellings.js';

const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const inRange = (base: number, bits: number) =>
  fc.integer({ min: 0, max: 2 ** (32 - bits) - 1 }).map((offset) => base + offset);

describe('egress properties', () => {
  it('any IPv4 in 127.0.0.0/8, in any mix of decimal/octal/hex parts, is denied as loopback', () => {
    fc.assert(
      fc.property(arbitraryIpv4Spelling(inRange(0x7f000000, 8)), ({ value, spelling }) => {
        expect(parseIp(spelling)?.address).toBe(dottedQuad(value));
        expect(decide(spelling, 25, DEFAULT_EGRESS_CONFIG)).toMatchObject({
          allowed: false,
          rule: 'loopback',
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('any IPv4 in 169.254.0.0/16, in any spelling, is denied', () => {
    fc.assert(
      fc.property(arbitraryIpv4Spelling(inRange(0xa9fe0000, 16)), ({ spelling }) => {
        const decision = decide(spelling, 25, DEFAULT_EGRESS_CONFIG);
        expect(decision.allowed).toBe(false);
        expect(['link-local', 'cloud-metadata']).toContain(decision.allowed ? '' : decision.rule);
      }),
      { numRuns: 1000 },
    );
  });

  it('every spelling of every IPv4 address normalises to its dotted quad', () => {
    fc.assert(
      fc.property(arbitraryIpv4Spelling(uint32), ({ value, spelling }) => {
        expect(parseIp(spelling)).toEqual({
          family: 4,
          address: dottedQuad(value),
          zone: undefined,
          embeddedIpv4: undefined,
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('any IPv4-mapped IPv6 spelling of 127.0.0.0/8 is denied as loopback', () => {
    const hextet = (n: number, upper: boolean, zeros: number) => {
      const text = '0'.repeat(zeros) + n.toString(16);
      return (upper ? text.toUpperCase() : text).slice(-4);
    };
    const spelling = fc
      .record({
        value: inRange(0x7f000000, 8),
        form: fc.constantFrom('hex', 'dotted', 'expanded'),
        upper: fc.boolean(),
        zeros: fc.integer({ min: 0, max: 3 }),
        bracketed: fc.boolean(),
      })
      .map(({ value, form, upper, zeros, bracketed }) => {
        const high = hextet(value >>> 16, upper, zeros);
        const low = hextet(value & 0xffff, upper, zeros);
        const ffff = upper ? 'FFFF' : 'ffff';
        const text =
          form === 'hex'
            ? `::${ffff}:${high}:${low}`
            : form === 'dotted'
              ? `::${ffff}:${dottedQuad(value)}`
              : `0:0:0:0:0:${ffff}:${high}:${low}`;
        return { value, text: bracketed ? `[${text}]` : text };
      });
    fc.assert(
      fc.property(spelling, ({ value, text }) => {
        expect(parseIp(text)?.address).toBe(dottedQuad(value));
        expect(decide(text, 25, DEFAULT_EGRESS_CONFIG)).toMatchObject({ allowed: false, rule: 'loopback' });
      }),
      { numRuns: 1000 },
    );
  });

  it('parseHost never throws, and decide handles every IP it returns (fast-check ipV4Extended, ipV6, junk)', () => {
    const junk = fc.string({ unit: fc.constantFrom(...'0123456789abcdefxX.:[]%ABCDEF'.split('')) });
    const text = fc.oneof(fc.ipV4Extended(), fc.ipV6(), junk, fc.string({ unit: 'grapheme' }));
    let ips = 0;
    fc.assert(
      fc.property(text, (host) => {
        const parsed = parseHost(host);
        if (parsed.kind !== 'ip') return;
        ips += 1;
        const decision = decide(host, 25, DEFAULT_EGRESS_CONFIG);
        if (parsed.ip.address.startsWith('127.') || parsed.ip.address === '::1') {
          expect(decision).toMatchObject({ allowed: false, rule: 'loopback' });
        }
      }),
      { numRuns: 5000 },
    );
    // Not vacuous: most generated addresses (odd IPv4 spellings included) parse as IPs.
    expect(ips).toBeGreaterThan(2000);
  });
});
