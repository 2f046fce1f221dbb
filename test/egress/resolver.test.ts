import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EGRESS_CONFIG, type EgressConfig } from '../../src/egress/config.js';
import { createEgressResolver, type LookupAll } from '../../src/egress/resolver.js';
import { ProbeError } from '../../src/probes/errors.js';
import { LOOPBACK_V4_SPELLINGS, LOOPBACK_V6_SPELLINGS, METADATA_SPELLINGS } from './spellings.js';

const config = (overrides: Partial<EgressConfig> = {}): EgressConfig => ({
  ...DEFAULT_EGRESS_CONFIG,
  ...overrides,
});
const never = new AbortController().signal;

/** A lookup stub over a fixed zone; records every call. Tests never aim anything at these answers. */
function stubLookup(zone: Record<string, string[]>): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const addresses = zone[hostname];
    if (addresses === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
    }
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

async function rejection(promise: Promise<unknown>): Promise<ProbeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProbeError);
  return error as ProbeError;
}

describe('createEgressResolver: names', () => {
  const lookup = stubLookup({
    'loopback.test': ['127.0.0.1'],
    'mixed.test': ['192.0.2.10', '127.0.0.1'],
    'mapped.test': ['::ffff:127.0.0.1'],
    'metadata.test': ['169.254.169.254'],
    'internal.test': ['10.1.2.3'],
    'dual.test': ['fd00::5', '10.0.0.1'],
    'public.test': ['192.0.2.10', '2001:db8::10'],
    'empty.test': [],
    'garbage.test': ['not-an-ip'],
  });
  const resolve = createEgressResolver(DEFAULT_EGRESS_CONFIG, lookup);

  it('refuses a name resolving to 127.0.0.1, naming rule, key, address and name', async () => {
    const error = await rejection(resolve('loopback.test', 25, never));
    expect(error.code).toBe('egress_denied');
    expect(error.phase).toBe('dns');
    expect(error.message).toBe(
      'egress denied: 127.0.0.1 is loopback (add it to egress.allowCidrs to allow); loopback.test resolved to 127.0.0.1',
    );
  });

  it('refuses a name when any one of its addresses is refused', async () => {
    const error = await rejection(resolve('mixed.test', 25, never));
    expect(error.code).toBe('egress_denied');
    expect(error.message).toMatch(
      /^egress denied: 127\.0\.0\.1 is loopback .*resolved to 192\.0\.2\.10, 127\.0\.0\.1$/,
    );
  });

  it('refuses an AAAA answer that maps 127.0.0.1, and the metadata address', async () => {
    expect((await rejection(resolve('mapped.test', 25, never))).message).toMatch(/127\.0\.0\.1 is loopback/);
    expect((await rejection(resolve('metadata.test', 25, never))).message).toMatch(/cloud metadata/);
  });

  it('returns a private address as that address, and refuses it with denyPrivate', async () => {
    await expect(resolve('internal.test', 993, never)).resolves.toBe('10.1.2.3');
    const strict = createEgressResolver(config({ denyPrivate: true }), lookup);
    expect((await rejection(strict('internal.test', 993, never))).message).toMatch(/egress\.denyPrivate/);
  });

  it('returns the first address when all pass', async () => {
    await expect(resolve('dual.test', 25, never)).resolves.toBe('fd00::5');
  });

  it('lets ENOTFOUND through unchanged', async () => {
    const error = await resolve('missing.test', 25, never).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ProbeError);
    expect(error).toMatchObject({ code: 'ENOTFOUND', hostname: 'missing.test' });
  });

  it('treats an empty answer as ENOTFOUND and an unreadable one as refused', async () => {
    await expect(resolve('empty.test', 25, never)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect((await rejection(resolve('garbage.test', 25, never))).code).toBe('egress_denied');
  });

  it('looks the normalised name up exactly once per call, with all addresses', async () => {
    const calls: Array<[string, unknown]> = [];
    const once: LookupAll = async (hostname, options) => {
      calls.push([hostname, options]);
      return [{ address: '192.0.2.10', family: 4 }];
    };
    await expect(createEgressResolver(DEFAULT_EGRESS_CONFIG, once)('Public.TEST.', 25, never)).resolves.toBe(
      '192.0.2.10',
    );
    expect(calls).toEqual([['public.test.', { all: true }]]);
  });

  it('refuses a port before spending a lookup', async () => {
    const before = lookup.calls.length;
    const error = await rejection(resolve('public.test', 8080, never));
    expect(error).toMatchObject({ code: 'egress_denied', phase: 'dns' });
    expect(error.message).toMatch(/egress\.allowedPorts/);
    expect(lookup.calls.length).toBe(before);
  });
});

describe('createEgressResolver: IP literals', () => {
  const lookup = stubLookup({});
  const resolve = createEgressResolver(DEFAULT_EGRESS_CONFIG, lookup);

  it.each([...LOOPBACK_V4_SPELLINGS, ...LOOPBACK_V6_SPELLINGS, ...METADATA_SPELLINGS])(
    'refuses %j without a lookup',
    async (spelling) => {
      expect((await rejection(resolve(spelling, 25, never))).code).toBe('egress_denied');
      expect(lookup.calls).toEqual([]);
    },
  );

  it('returns the canonical address of an allowed literal', async () => {
    const open = createEgressResolver(config({ allowCidrs: ['127.0.0.0/8', '::1', 'fe80::/10'] }), lookup);
    await expect(open('0x7f.1', 25, never)).resolves.toBe('127.0.0.1');
    await expect(open('::ffff:7f00:1', 25, never)).resolves.toBe('127.0.0.1');
    await expect(open('[0::1]', 25, never)).resolves.toBe('::1');
    await expect(open('[fe80::1%25eth0]', 25, never)).resolves.toBe('fe80::1%eth0');
    await expect(resolve('192.168.0x101', 25, never)).resolves.toBe('192.168.1.1');
    expect(lookup.calls).toEqual([]);
  });
});

describe('createEgressResolver: invalid hosts and aborts', () => {
  it.each([
    '',
    'mail.example.com\r\n',
    'mail\nexample.com',
    ' mail.example.com',
    'mail example.com',
    'mail.example.com:25',
  ])('refuses %j as config_invalid with an escaped message, without a lookup', async (host) => {
    const lookup = stubLookup({});
    const error = await rejection(createEgressResolver(DEFAULT_EGRESS_CONFIG, lookup)(host, 25, never));
    expect(error).toMatchObject({ code: 'config_invalid', phase: 'dns' });
    expect(error.message).toMatch(/^invalid host ".*": it /);
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(lookup.calls).toEqual([]);
  });

  it('rejects with the reason of an already aborted signal, without a lookup', async () => {
    const lookup = stubLookup({ 'public.test': ['192.0.2.10'] });
    const reason = new Error('deadline');
    await expect(
      createEgressResolver(DEFAULT_EGRESS_CONFIG, lookup)('public.test', 25, AbortSignal.abort(reason)),
    ).rejects.toBe(reason);
    expect(lookup.calls).toEqual([]);
  });

  it('rejects with the reason as soon as the signal aborts during a lookup', async () => {
    let answer: (records: LookupAddress[]) => void = () => undefined;
    const pending: LookupAll = () => new Promise((resolve) => (answer = resolve));
    const controller = new AbortController();
    const result = createEgressResolver(DEFAULT_EGRESS_CONFIG, pending)('slow.test', 25, controller.signal);
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    answer([{ address: '192.0.2.10', family: 4 }]); // a late answer is ignored
  });

  it('uses the system resolver by default: localhost resolves and is refused, a .invalid name is ENOTFOUND', async () => {
    const resolve = createEgressResolver(DEFAULT_EGRESS_CONFIG);
    const error = await rejection(resolve('localhost', 25, never));
    expect(error.code).toBe('egress_denied');
    expect(error.message).toMatch(/is loopback .*; localhost resolved to /);
    await expect(resolve('mailmon-egress-test.invalid', 25, never)).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});
