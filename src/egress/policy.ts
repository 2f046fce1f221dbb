import ipaddr from 'ipaddr.js';
import { parseIp, type CanonicalIp } from './address.js';
import type { EgressConfig } from './config.js';

/** Which rule refused a connection. */
export type EgressRule =
  | 'port'
  | 'deny-cidr'
  | 'unspecified'
  | 'loopback'
  | 'cloud-metadata'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'benchmarking'
  | 'nat64-local'
  | 'teredo'
  | '6to4'
  | 'site-local'
  | 'private';

/** The config key an operator changes to lift a refusal. */
export type EgressConfigKey =
  | 'egress.allowedPorts'
  | 'egress.tokenEndpointPorts'
  | 'egress.denyCidrs'
  | 'egress.allowCidrs'
  | 'egress.denyPrivate';

/** Which port list applies: the mail servers' or the OAuth2 token endpoints'. */
export type PortList = 'allowedPorts' | 'tokenEndpointPorts';

export type EgressRefusal = {
  readonly allowed: false;
  readonly rule: EgressRule;
  readonly configKey: EgressConfigKey;
  /** e.g. "egress denied: 127.0.0.1 is loopback (add it to egress.allowCidrs to allow)" */
  readonly message: string;
};

export type EgressDecision = { readonly allowed: true } | EgressRefusal;

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];
type BuiltinRule = Exclude<EgressRule, 'port' | 'deny-cidr' | 'private'>;

/**
 * Refused unless listed in egress.allowCidrs. First match wins, so the metadata address is named
 * before the link-local range that contains it, and broadcast before the reserved 240/4.
 */
const BUILTIN_DENIES: ReadonlyArray<readonly [string, BuiltinRule]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.169.254/32', 'cloud-metadata'], // AWS, GCP, Azure, Oracle, DigitalOcean
  ['100.100.100.200/32', 'cloud-metadata'], // Alibaba Cloud (inside 100.64/10, otherwise allowed)
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
  ['198.18.0.0/15', 'benchmarking'], // RFC 2544: test networks, never a mail server
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fd00:ec2::254/128', 'cloud-metadata'], // AWS IMDS over IPv6 (inside fc00::/7)
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
  ['fec0::/10', 'site-local'], // deprecated (RFC 3879), still routed inside some networks
  // Prefixes that translate or tunnel to IPv4 hosts, which the IPv4 rules above cannot see once the
  // packet leaves as IPv6. The local-use NAT64 prefix (RFC 8215) embeds the IPv4 address at an
  // operator-chosen position, so it cannot be checked: refused whole. Teredo and 6to4 addresses are
  // refused whole too; allowed through egress.allowCidrs, their embedded IPv4 address is still checked.
  ['64:ff9b:1::/48', 'nat64-local'],
  ['2001::/32', 'teredo'],
  ['2002::/16', '6to4'],
];

/** Refused only when egress.denyPrivate is true. */
const PRIVATE_RANGES: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  'fc00::/7',
];

const RULE_TEXT: Record<BuiltinRule, string> = {
  unspecified: 'an unspecified ("this network") address',
  loopback: 'loopback',
  'cloud-metadata': 'the cloud metadata service address',
  'link-local': 'link-local',
  multicast: 'multicast',
  broadcast: 'the broadcast address',
  reserved: 'in the reserved range 240.0.0.0/4',
  benchmarking: 'in the benchmarking range 198.18.0.0/15',
  'nat64-local': 'in the local-use NAT64 prefix 64:ff9b:1::/48, which translates to IPv4 hosts',
  teredo: 'a Teredo address (2001::/32), which tunnels to an IPv4 host',
  '6to4': 'a 6to4 address (2002::/16), which tunnels to an IPv4 host',
  'site-local': 'site-local (fec0::/10)',
};

/**
 * Decide whether a probe may connect to `ip`:`port`. Pure. `ip` may be in any spelling parseHost
 * accepts (0x7f.1, ::ffff:127.0.0.1, [fe80::1%25eth0]); it is normalised first. Order: port, then
 * egress.denyCidrs, egress.allowCidrs, the built-in denies, egress.denyPrivate, else allowed. An
 * address embedding an IPv4 address (NAT64, IPv4-compatible, 6to4, Teredo) must pass for both addresses.
 * Throws TypeError when `ip` is not an IP address (the caller resolves names first), and whatever
 * ipaddr.js throws for a CIDR the config schema would have rejected.
 */
export function decide(ip: string, port: number, config: EgressConfig): EgressDecision {
  const parsed = parseIp(ip);
  if (parsed === undefined) throw new TypeError(`egress: ${JSON.stringify(ip)} is not an IP address`);
  const portDecision = decidePort(port, config);
  if (!portDecision.allowed) return portDecision;
  return decideCanonical(parsed, config, ip);
}

/**
 * The port half of `decide`, so a resolver can refuse before spending a DNS lookup. `list` picks
 * egress.allowedPorts (mail servers, the default) or egress.tokenEndpointPorts (OAuth2 token endpoints).
 */
export function decidePort(
  port: number,
  config: EgressConfig,
  list: PortList = 'allowedPorts',
): EgressDecision {
  const key: EgressConfigKey = `egress.${list}`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return refuse('port', key, `port ${String(port)} is not a TCP port (1-65535)`);
  }
  const ports = config[list];
  if (ports !== null && !ports.includes(port)) {
    return refuse(
      'port',
      key,
      `port ${port} is not in ${key} [${ports.join(', ')}] (add it there, or set ${key} to null to allow any port)`,
    );
  }
  return { allowed: true };
}

/** Address rules for an already-parsed IP; `written` is the original spelling, named when it differs. */
export function decideCanonical(ip: CanonicalIp, config: EgressConfig, written?: string): EgressDecision {
  const shown =
    written !== undefined && written !== ip.address
      ? `${ip.address} (written ${JSON.stringify(written)})`
      : ip.address;
  const outer = decideAddress(ipaddr.parse(ip.address), shown, config);
  if (!outer.allowed || ip.embeddedIpv4 === undefined) return outer;
  return decideAddress(
    ipaddr.parse(ip.embeddedIpv4),
    `${ip.embeddedIpv4} (embedded in ${ip.address})`,
    config,
  );
}

function decideAddress(address: Address, shown: string, config: EgressConfig): EgressDecision {
  const denied = config.denyCidrs.find((cidr) => inRange(address, parseRange(cidr)));
  if (denied !== undefined) {
    return refuse(
      'deny-cidr',
      'egress.denyCidrs',
      `${shown} matches ${denied} in egress.denyCidrs (remove that entry to allow)`,
    );
  }
  if (config.allowCidrs.some((cidr) => inRange(address, parseRange(cidr)))) return { allowed: true };

  const builtin = BUILTIN_DENIES.find(([cidr]) => inRange(address, parseRange(cidr)));
  if (builtin !== undefined) {
    const [, rule] = builtin;
    return refuse(
      rule,
      'egress.allowCidrs',
      `${shown} is ${RULE_TEXT[rule]} (add it to egress.allowCidrs to allow)`,
    );
  }
  if (config.denyPrivate && PRIVATE_RANGES.some((cidr) => inRange(address, parseRange(cidr)))) {
    return refuse(
      'private',
      'egress.denyPrivate',
      `${shown} is in a private range and egress.denyPrivate is true (set it to false, or add the address to egress.allowCidrs, to allow)`,
    );
  }
  return { allowed: true };
}

/** A CIDR or bare IP; an IPv4-mapped IPv6 range becomes the IPv4 range, as addresses do. */
function parseRange(text: string): Range {
  let [address, bits]: Range = text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), -1];
  if (bits === -1) bits = address.kind() === 'ipv4' ? 32 : 128;
  if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() && bits >= 96) {
    [address, bits] = [address.toIPv4Address(), bits - 96];
  }
  return [address, bits];
}

function inRange(address: Address, [network, bits]: Range): boolean {
  return address.kind() === network.kind() && address.match(network, bits);
}

function refuse(rule: EgressRule, configKey: EgressConfigKey, reason: string): EgressRefusal {
  return { allowed: false, rule, configKey, message: `egress denied: ${reason}` };
}
