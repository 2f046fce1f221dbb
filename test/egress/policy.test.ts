import { describe, expect, it } from 'vitest';
import { DEFAULT_EGRESS_CONFIG, type EgressConfig } from '../../src/egress/config.js';
import { decide, type EgressDecision } from '../../src/egress/policy.js';
import {
  CGNAT_SPELLINGS,
  LINK_LOCAL_SPELLINGS,
  LOOPBACK_EMBEDDED_SPELLINGS,
  LOOPBACK_TUNNEL_SPELLINGS,
  LOOPBACK_V4_SPELLINGS,
  LOOPBACK_V6_SPELLINGS,
  METADATA_SPELLINGS,
  TRANSLATED_AND_RESERVED_SPELLINGS,
} from './spellings.js';

const config = (overrides: Partial<EgressConfig> = {}): EgressConfig => ({
  ...DEFAULT_EGRESS_CONFIG,
  ...overrides,
});
const refusal = (decision: EgressDecision) => (decision.allowed ? undefined : decision);

describe('decide: built-in denies, every spelling', () => {
  it.each([...LOOPBACK_V4_SPELLINGS, ...LOOPBACK_V6_SPELLINGS, ...LOOPBACK_EMBEDDED_SPELLINGS])(
    'refuses loopback %j',
    (spelling) => {
      expect(decide(spelling, 25, DEFAULT_EGRESS_CONFIG)).toMatchObject({
        allowed: false,
        rule: 'loopback',
        configKey: 'egress.allowCidrs',
      });
    },
  );

  it.each(LINK_LOCAL_SPELLINGS)('refuses link-local %j', (spelling) => {
    expect(decide(spelling, 993, DEFAULT_EGRESS_CONFIG)).toMatchObject({
      allowed: false,
      rule: 'link-local',
    });
  });

  it.each(METADATA_SPELLINGS)('refuses cloud metadata %j and names it', (spelling) => {
    const decision = refusal(decide(spelling, 587, DEFAULT_EGRESS_CONFIG));
    expect(decision).toMatchObject({ rule: 'cloud-metadata', configKey: 'egress.allowCidrs' });
    expect(decision?.message).toMatch(/cloud metadata service address/);
  });

  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['0x0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['[::]', 'unspecified'],
    ['0:0:0:0:0:0:0:0', 'unspecified'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['0xe0000001', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['::ffff:224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['FF05::1:3', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['0xffffffff', 'broadcast'],
    ['4294967295', 'broadcast'],
    ['037777777777', 'broadcast'],
    ['240.0.0.1', 'reserved'],
  ])('refuses %j as %s', (spelling, rule) => {
    expect(decide(spelling, 25, DEFAULT_EGRESS_CONFIG)).toMatchObject({ allowed: false, rule });
  });

  it('says which rule refused and which key changes it, in the original spelling too', () => {
    expect(refusal(decide('127.0.0.1', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: 127.0.0.1 is loopback (add it to egress.allowCidrs to allow)',
    );
    expect(refusal(decide('0x7f.1', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: 127.0.0.1 (written "0x7f.1") is loopback (add it to egress.allowCidrs to allow)',
    );
    expect(refusal(decide('169.254.169.254', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: 169.254.169.254 is the cloud metadata service address (add it to egress.allowCidrs to allow)',
    );
    expect(refusal(decide('64:ff9b::7f00:1', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: 127.0.0.1 (embedded in 64:ff9b::7f00:1) is loopback (add it to egress.allowCidrs to allow)',
    );
  });

  it.each([
    '192.0.2.1',
    '198.51.100.7',
    '2001:db8::25',
    '::ffff:192.0.2.1',
    '64:ff9b::c000:201',
    '172.32.0.1',
  ])('allows the public address %j', (spelling) => {
    expect(decide(spelling, 25, DEFAULT_EGRESS_CONFIG)).toEqual({ allowed: true });
  });

  it.each(TRANSLATED_AND_RESERVED_SPELLINGS)(
    'refuses %j as %s, naming egress.allowCidrs',
    (spelling, rule) => {
      const decision = refusal(decide(spelling, 25, DEFAULT_EGRESS_CONFIG));
      expect(decision).toMatchObject({ rule, configKey: 'egress.allowCidrs' });
      expect(decision?.message).toMatch(/^egress denied: .+ \(add it to egress\.allowCidrs to allow\)$/);
    },
  );

  it.each(LOOPBACK_TUNNEL_SPELLINGS)('refuses the tunnel address %j as a tunnel', (spelling) => {
    expect(decide(spelling, 25, DEFAULT_EGRESS_CONFIG)).toMatchObject({
      allowed: false,
      rule: expect.stringMatching(/^(6to4|teredo)$/),
      configKey: 'egress.allowCidrs',
    });
  });

  it('names the tunnel and translation ranges in the message', () => {
    expect(refusal(decide('2002:c000:201::1', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: 2002:c000:201::1 is a 6to4 address (2002::/16), which tunnels to an IPv4 host (add it to egress.allowCidrs to allow)',
    );
    expect(refusal(decide('2001::1', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: 2001::1 is a Teredo address (2001::/32), which tunnels to an IPv4 host (add it to egress.allowCidrs to allow)',
    );
    expect(refusal(decide('64:ff9b:1::a', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: 64:ff9b:1::a is in the local-use NAT64 prefix 64:ff9b:1::/48, which translates to IPv4 hosts (add it to egress.allowCidrs to allow)',
    );
    expect(refusal(decide('0xc6120001', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: 198.18.0.1 (written "0xc6120001") is in the benchmarking range 198.18.0.0/15 (add it to egress.allowCidrs to allow)',
    );
    expect(refusal(decide('fec0::1', 25, DEFAULT_EGRESS_CONFIG))?.message).toBe(
      'egress denied: fec0::1 is site-local (fec0::/10) (add it to egress.allowCidrs to allow)',
    );
  });

  it('throws on a name: names are resolved before they are decided', () => {
    expect(() => decide('mail.example.com', 25, DEFAULT_EGRESS_CONFIG)).toThrow(TypeError);
  });
});

describe('decide: private ranges', () => {
  const privates = [
    '10.0.0.1',
    '012.0.0.1',
    '0xa000001',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.255',
    'fc00::1',
    'fd12:3456::1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    ...CGNAT_SPELLINGS,
  ];

  it.each(privates)('allows %j by default', (spelling) => {
    expect(decide(spelling, 143, DEFAULT_EGRESS_CONFIG)).toEqual({ allowed: true });
  });

  it.each(privates)('refuses %j with denyPrivate, naming egress.denyPrivate', (spelling) => {
    const decision = refusal(decide(spelling, 143, config({ denyPrivate: true })));
    expect(decision).toMatchObject({ rule: 'private', configKey: 'egress.denyPrivate' });
    expect(decision?.message).toMatch(/egress\.denyPrivate is true/);
  });

  it.each(['172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '11.0.0.1', 'fe00::1'])(
    'does not count %j as private',
    (spelling) => {
      expect(decide(spelling, 143, config({ denyPrivate: true }))).toEqual({ allowed: true });
    },
  );
});

describe('decide: CIDR lists, in order deny → allow → built-in → denyPrivate', () => {
  it('allowCidrs lifts a built-in deny, for every spelling', () => {
    const local = config({ allowCidrs: ['127.0.0.0/8', '::1'] });
    for (const spelling of [...LOOPBACK_V4_SPELLINGS, ...LOOPBACK_V6_SPELLINGS]) {
      expect(decide(spelling, 25, local), spelling).toEqual({ allowed: true });
    }
  });

  it('denyCidrs wins over allowCidrs', () => {
    const both = config({ allowCidrs: ['127.0.0.0/8'], denyCidrs: ['127.0.0.1/32'] });
    expect(decide('0x7f.1', 25, both)).toMatchObject({
      allowed: false,
      rule: 'deny-cidr',
      configKey: 'egress.denyCidrs',
      message:
        'egress denied: 127.0.0.1 (written "0x7f.1") matches 127.0.0.1/32 in egress.denyCidrs (remove that entry to allow)',
    });
    expect(decide('127.0.0.2', 25, both)).toEqual({ allowed: true });
  });

  it('denyCidrs refuses an otherwise public address', () => {
    expect(decide('192.0.2.9', 25, config({ denyCidrs: ['192.0.2.0/24'] }))).toMatchObject({
      rule: 'deny-cidr',
    });
    expect(decide('2001:db8::9', 25, config({ denyCidrs: ['2001:db8::/32'] }))).toMatchObject({
      rule: 'deny-cidr',
    });
  });

  it('allowCidrs beats denyPrivate, other private ranges stay refused', () => {
    const cfg = config({ denyPrivate: true, allowCidrs: ['10.0.0.0/8'] });
    expect(decide('10.1.2.3', 25, cfg)).toEqual({ allowed: true });
    expect(decide('192.168.1.1', 25, cfg)).toMatchObject({ rule: 'private' });
  });

  it('a single allowed IP opens only that address', () => {
    const cfg = config({ allowCidrs: ['169.254.169.254'] });
    expect(decide('0xa9fea9fe', 25, cfg)).toEqual({ allowed: true });
    expect(decide('169.254.169.253', 25, cfg)).toMatchObject({ rule: 'link-local' });
  });

  it('an IPv4-mapped IPv6 CIDR applies to the IPv4 addresses it maps', () => {
    expect(decide('127.0.0.1', 25, config({ allowCidrs: ['::ffff:127.0.0.0/104'] }))).toEqual({
      allowed: true,
    });
    expect(decide('10.0.0.1', 25, config({ denyCidrs: ['::ffff:10.0.0.0/104'] }))).toMatchObject({
      rule: 'deny-cidr',
    });
  });

  it('a CIDR of one family never matches the other', () => {
    expect(decide('::1', 25, config({ allowCidrs: ['0.0.0.0/0'] }))).toMatchObject({ rule: 'loopback' });
    expect(decide('127.0.0.1', 25, config({ allowCidrs: ['::/0'] }))).toMatchObject({ rule: 'loopback' });
  });

  it('allowing a tunnel range opens it only for embedded IPv4 addresses the IPv4 rules allow', () => {
    const tunnels = config({ allowCidrs: ['2002::/16', '2001::/32'] });
    for (const spelling of LOOPBACK_TUNNEL_SPELLINGS) {
      expect(decide(spelling, 25, tunnels), spelling).toMatchObject({ allowed: false, rule: 'loopback' });
    }
    expect(decide('2002:c000:201::1', 25, tunnels)).toEqual({ allowed: true });
    expect(decide('2001:0:4136:e378:8000:63bf:3fff:fdd2', 25, tunnels)).toEqual({ allowed: true });
    expect(decide('2002:a00:1::1', 25, { ...tunnels, denyPrivate: true })).toMatchObject({ rule: 'private' });
    const withLoopback = config({ allowCidrs: ['2002::/16', '2001::/32', '127.0.0.0/8'] });
    for (const spelling of LOOPBACK_TUNNEL_SPELLINGS) {
      expect(decide(spelling, 25, withLoopback), spelling).toEqual({ allowed: true });
    }
  });

  it('the local-use NAT64 prefix and the other reserved ranges open only through allowCidrs', () => {
    expect(decide('64:ff9b:1::1', 25, config({ allowCidrs: ['64:ff9b:1::/48'] }))).toEqual({ allowed: true });
    expect(decide('198.18.0.1', 25, config({ allowCidrs: ['198.18.0.0/15'] }))).toEqual({ allowed: true });
    expect(decide('fec0::1', 25, config({ allowCidrs: ['fec0::/10'] }))).toEqual({ allowed: true });
    expect(decide('198.20.0.1', 25, DEFAULT_EGRESS_CONFIG)).toEqual({ allowed: true });
    expect(decide('64:ff9b:2::1', 25, DEFAULT_EGRESS_CONFIG)).toEqual({ allowed: true });
    expect(decide('2001:1::1', 25, DEFAULT_EGRESS_CONFIG)).toEqual({ allowed: true });
  });

  it('allowing link-local IPv6 allows zoned addresses', () => {
    expect(decide('fe80::1%eth0', 25, config({ allowCidrs: ['fe80::/10'] }))).toEqual({ allowed: true });
  });

  it('an address embedding IPv4 must pass for both addresses', () => {
    const cfg = config({ allowCidrs: ['64:ff9b::/96'] });
    expect(decide('64:ff9b::7f00:1', 25, cfg)).toMatchObject({ rule: 'loopback' });
    expect(decide('64:ff9b::7f00:1', 25, config({ allowCidrs: ['127.0.0.0/8'] }))).toEqual({ allowed: true });
    expect(decide('64:ff9b::c000:201', 25, config({ denyCidrs: ['192.0.2.0/24'] }))).toMatchObject({
      rule: 'deny-cidr',
    });
  });
});

describe('decide: ports', () => {
  it.each([25, 143, 465, 587, 993, 2525])('allows default port %i', (port) => {
    expect(decide('192.0.2.1', port, DEFAULT_EGRESS_CONFIG)).toEqual({ allowed: true });
  });

  it('refuses a port outside allowedPorts, naming the key', () => {
    expect(decide('192.0.2.1', 8080, DEFAULT_EGRESS_CONFIG)).toEqual({
      allowed: false,
      rule: 'port',
      configKey: 'egress.allowedPorts',
      message:
        'egress denied: port 8080 is not in egress.allowedPorts [25, 143, 465, 587, 993, 2525] (add it there, or set egress.allowedPorts to null to allow any port)',
    });
  });

  it('null allows any port; a custom list only its ports', () => {
    expect(decide('192.0.2.1', 8080, config({ allowedPorts: null }))).toEqual({ allowed: true });
    expect(decide('192.0.2.1', 25, config({ allowedPorts: [1025] }))).toMatchObject({ rule: 'port' });
  });

  it.each([0, -1, 65536, 25.5, Number.NaN])(
    'refuses %d, which is no TCP port, even with any port allowed',
    (port) => {
      expect(decide('192.0.2.1', port, config({ allowedPorts: null }))).toMatchObject({
        allowed: false,
        rule: 'port',
      });
    },
  );

  it('allowCidrs does not lift the port rule', () => {
    expect(decide('127.0.0.1', 22, config({ allowCidrs: ['127.0.0.0/8'] }))).toMatchObject({ rule: 'port' });
  });
});
