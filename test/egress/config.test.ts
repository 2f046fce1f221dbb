import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  DEFAULT_EGRESS_CONFIG,
  egressConfigSchema,
  isValidCidr,
  type EgressConfig,
} from '../../src/egress/config.js';

// How the lead embeds it: the refusal messages name keys as `egress.<key>`.
const appSchema = z.object({ egress: egressConfigSchema });

describe('egressConfigSchema', () => {
  it('parses a missing egress section to the defaults', () => {
    expect(appSchema.parse({}).egress).toEqual({
      denyPrivate: false,
      allowCidrs: [],
      denyCidrs: [],
      allowedPorts: [25, 143, 465, 587, 993, 2525],
      tokenEndpointPorts: [443],
    });
    expect(appSchema.parse({}).egress).toEqual(DEFAULT_EGRESS_CONFIG);
  });

  it('fills missing fields and keeps given ones; null ports means any port', () => {
    expect(egressConfigSchema.parse({ denyPrivate: true, allowedPorts: null })).toEqual({
      denyPrivate: true,
      allowCidrs: [],
      denyCidrs: [],
      allowedPorts: null,
      tokenEndpointPorts: [443],
    });
    expect(egressConfigSchema.parse({ tokenEndpointPorts: null }).tokenEndpointPorts).toBeNull();
    expect(egressConfigSchema.safeParse({ tokenEndpointPorts: [0] }).success).toBe(false);
  });

  it('does not share the default ports array between parses', () => {
    const first = egressConfigSchema.parse({});
    first.allowedPorts?.push(22);
    expect(egressConfigSchema.parse({}).allowedPorts).toEqual([25, 143, 465, 587, 993, 2525]);
  });

  it('accepts CIDRs and bare addresses of both families', () => {
    const parsed = egressConfigSchema.parse({
      allowCidrs: ['127.0.0.0/8', '::1', 'fe80::/10', '10.1.2.3', '::ffff:127.0.0.0/104', '0.0.0.0/0'],
      denyCidrs: ['192.0.2.0/24', '2001:db8::/32'],
    });
    expect(parsed.allowCidrs).toHaveLength(6);
  });

  it.each([
    [{ allowCidrs: ['127.0.0.0/33'] }, ['egress', 'allowCidrs', 0]],
    [{ allowCidrs: ['localhost'] }, ['egress', 'allowCidrs', 0]],
    [{ denyCidrs: ['10.0.0.0/8', '0x7f.1/8'] }, ['egress', 'denyCidrs', 1]],
    [{ denyCidrs: ['fe80::1%eth0'] }, ['egress', 'denyCidrs', 0]],
    [{ denyCidrs: ['::/129'] }, ['egress', 'denyCidrs', 0]],
    [{ allowedPorts: [0] }, ['egress', 'allowedPorts', 0]],
    [{ allowedPorts: [25, 65536] }, ['egress', 'allowedPorts', 1]],
    [{ allowedPorts: ['25'] }, ['egress', 'allowedPorts', 0]],
    [{ denyPrivate: 'yes' }, ['egress', 'denyPrivate']],
    [{ allowCIDRs: [] }, ['egress']], // unknown key: a typo must not silently drop a rule
  ])('rejects %j at path %j', (egress, path) => {
    const result = appSchema.safeParse({ egress });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
  });

  it('produces the EgressConfig type', () => {
    expectTypeOf(egressConfigSchema.parse({})).toExtend<EgressConfig>();
  });
});

describe('isValidCidr', () => {
  it.each(['10.0.0.0/8', '10.0.0.0/0', '10.0.0.1', '::/0', 'fd00:ec2::254/128', '2001:db8::'])(
    'accepts %j',
    (text) => {
      expect(isValidCidr(text)).toBe(true);
    },
  );
  it.each([
    '',
    '10.0.0.0/',
    '10.0.0.0/x',
    '10.0.0.0/8/8',
    '10.0.0/8',
    '0177.0.0.1',
    '::1/',
    'example.com/8',
    ' 10.0.0.0/8',
  ])('rejects %j', (text) => {
    expect(isValidCidr(text)).toBe(false);
  });
});
