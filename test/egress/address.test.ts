import { describe, expect, it } from 'vitest';
import { dialAddress, parseHost, parseIp } from '../../src/egress/address.js';
import {
  LINK_LOCAL_SPELLINGS,
  LOOPBACK_EMBEDDED_SPELLINGS,
  LOOPBACK_TUNNEL_SPELLINGS,
  LOOPBACK_V4_SPELLINGS,
  LOOPBACK_V6_SPELLINGS,
  METADATA_SPELLINGS,
} from './spellings.js';

describe('parseHost: IP spellings', () => {
  it.each(LOOPBACK_V4_SPELLINGS)('%j is 127.0.0.1', (spelling) => {
    expect(parseIp(spelling)).toEqual({
      family: 4,
      address: '127.0.0.1',
      zone: undefined,
      embeddedIpv4: undefined,
    });
  });

  it.each(LOOPBACK_V6_SPELLINGS)('%j is ::1', (spelling) => {
    expect(parseIp(spelling)).toEqual({
      family: 6,
      address: '::1',
      zone: undefined,
      embeddedIpv4: undefined,
    });
  });

  it.each([...LOOPBACK_EMBEDDED_SPELLINGS, ...LOOPBACK_TUNNEL_SPELLINGS])(
    '%j is IPv6 carrying 127.0.0.1',
    (spelling) => {
      const ip = parseIp(spelling);
      expect(ip?.family).toBe(6);
      expect(ip?.embeddedIpv4).toBe('127.0.0.1');
    },
  );

  it.each(METADATA_SPELLINGS.filter((s) => !/ec2|EC2|^100\.|64:ff9b/.test(s)))(
    '%j is 169.254.169.254',
    (spelling) => {
      expect(parseIp(spelling)?.address).toBe('169.254.169.254');
    },
  );

  it.each(LINK_LOCAL_SPELLINGS.filter((s) => !s.includes('fe') && !s.includes('FE')))(
    '%j is 169.254.1.1',
    (spelling) => {
      expect(parseIp(spelling)?.address).toBe('169.254.1.1');
    },
  );

  it.each([
    ['fe80::1%eth0', 'fe80::1', 'eth0'],
    ['[fe80::1%25eth0]', 'fe80::1', 'eth0'],
    ['[fe80::1%eth0]', 'fe80::1', 'eth0'],
    ['FE80:0:0:0:0:0:0:1%2', 'fe80::1', '2'],
  ])('%j keeps its zone', (spelling, address, zone) => {
    const ip = parseIp(spelling);
    expect(ip).toEqual({ family: 6, address, zone, embeddedIpv4: undefined });
    expect(dialAddress(ip!)).toBe(`${address}%${zone}`);
  });

  it.each([
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'],
    ['4294967295', '255.255.255.255'],
    ['037777777777', '255.255.255.255'],
    ['012.0.0.1', '10.0.0.1'], // a leading zero means octal, as inet_aton reads it
    ['0127.0.0.1', '87.0.0.1'],
    ['192.168.0x101', '192.168.1.1'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
  ])('%j is %s', (spelling, address) => {
    expect(parseIp(spelling)?.address).toBe(address);
  });

  it('reads the embedded IPv4 of NAT64, 6to4 and IPv4-compatible addresses, not of :: or ::1', () => {
    expect(parseIp('64:ff9b::a9fe:a9fe')?.embeddedIpv4).toBe('169.254.169.254');
    expect(parseIp('2002:c000:0201::1')?.embeddedIpv4).toBe('192.0.2.1');
    expect(parseIp('::10.0.0.1')?.embeddedIpv4).toBe('10.0.0.1');
    expect(parseIp('::')?.embeddedIpv4).toBeUndefined();
    expect(parseIp('::1')?.embeddedIpv4).toBeUndefined();
    expect(parseIp('2001:db8::1')?.embeddedIpv4).toBeUndefined();
  });

  it("reads a Teredo address's client IPv4, stored inverted", () => {
    expect(parseIp('2001:0:4136:e378:8000:63bf:3fff:fdd2')?.embeddedIpv4).toBe('192.0.2.45');
    expect(parseIp('2001:1::1')?.embeddedIpv4).toBeUndefined();
  });
});

describe('parseHost: names', () => {
  it.each([
    ['mail.example.com', 'mail.example.com'],
    ['MAIL.Example.COM', 'mail.example.com'],
    ['mail.example.com.', 'mail.example.com.'],
    ['_smtp.example.org', '_smtp.example.org'],
    ['localhost', 'localhost'],
    ['b\u00fccher.example', 'xn--bcher-kva.example'],
    ['127.0.0.1x', '127.0.0.1x'], // ends in a non-number: a name, checked after lookup
    ['a'.repeat(63) + '.example', 'a'.repeat(63) + '.example'],
  ])('%j is the name %j', (host, name) => {
    expect(parseHost(host)).toEqual({ kind: 'name', name });
  });
});

describe('parseHost: invalid hosts', () => {
  it.each([
    ['', /empty/],
    ['mail.example.com\r\nRCPT TO:<x>', /line break/],
    ['mail.example.com\n', /line break/],
    ['\rmail.example.com', /line break/],
    [' mail.example.com', /whitespace/],
    ['mail.example.com ', /whitespace/],
    ['mail example.com', /whitespace/],
    ['mail\texample.com', /whitespace/],
    ['mail\u00a0example.com', /whitespace/],
    ['mail\u0000.example.com', /control/],
    ['mail\u007f.example.com', /control/],
    ['mail.example.com:25', /":"/],
    ['user@127.0.0.1', /"@"/],
    ['example.com/127.0.0.1', /"\/"/],
    ['example.com#', /"#"/],
    ['127%2e0.0.1', /"%"/],
    ['[::1', /"\["/],
    ['[example.com]', /IPv6/],
    ['[fe80::1%]', /zone/],
    ['fe80::1%eth0/x', /":"/],
    ['1.2.3.4.5', /neither/],
    ['4294967296', /neither/],
    ['0x100000000', /neither/],
    ['09.1.1.1', /neither/],
    ['256.0.0.1', /neither/],
    ['example.123', /neither/],
    ['a..b', /empty label/],
    ['-', /label/],
    ['a*b.example', /label/],
    ['a'.repeat(64) + '.example', /label/],
    [Array(4).fill('a'.repeat(63)).join('.'), /longer than 253/], // 255 characters
    ['a'.repeat(256), /longer than 255/],
  ])('%j is invalid (%s)', (host, reason) => {
    const parsed = parseHost(host);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.reason).toMatch(reason);
  });
});
