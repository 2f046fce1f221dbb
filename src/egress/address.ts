import ipaddr from 'ipaddr.js';

/** An IP address in one canonical spelling, whatever spelling it arrived in. */
export interface CanonicalIp {
  readonly family: 4 | 6;
  /**
   * Dotted-quad IPv4, or RFC 5952 IPv6 without zone. IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes
   * the IPv4 address: connecting to either reaches the same host.
   */
  readonly address: string;
  /** IPv6 zone (interface) without the '%', e.g. "eth0". */
  readonly zone: string | undefined;
  /**
   * The IPv4 address carried inside an IPv4-compatible (::a.b.c.d), IPv4-translated
   * (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16) or Teredo (2001::/32, the client's
   * address) address. The policy checks it
   * too, because traffic to such an address can end up at the IPv4 host.
   */
  readonly embeddedIpv4: string | undefined;
}

export type ParsedHost =
  | { readonly kind: 'ip'; readonly ip: CanonicalIp }
  /** A DNS name, lower-case ASCII (IDNs in punycode), a trailing dot kept. */
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'invalid'; readonly reason: string };

/** RFC 1035: 253 characters without the trailing dot; a bracketed IPv6 with a zone stays well below 255. */
const MAX_HOST_LENGTH = 255;
const MAX_NAME_LENGTH = 253;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const ZONE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Characters that would change how a URL parser splits `http://HOST/`, so never reach it. */
const URL_DELIMITERS = /[/?#@\\%[\]<>^|:"'`{}]/;

/**
 * Classify a host as written by a user, a config file or a DNS answer: an IP address in any
 * spelling the OS resolver might accept (decimal 2130706433, octal 0177.0.0.1, hex 0x7f.1, short
 * forms 127.1, bracketed or zoned IPv6, IPv4-mapped IPv6), a DNS name, or invalid with a reason.
 * IPv4 spellings are parsed by the WHATWG URL host parser, which implements inet_aton's forms.
 */
export function parseHost(host: string): ParsedHost {
  if (host.length === 0) return invalid('it is empty');
  if (host.length > MAX_HOST_LENGTH) return invalid(`it is longer than ${MAX_HOST_LENGTH} characters`);
  if (/[\r\n]/.test(host)) return invalid('it contains a line break (CR or LF)');
  if (/\s/u.test(host)) return invalid('it contains whitespace');
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(host)) return invalid('it contains a control character');

  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return invalid('it opens "[" without a closing "]"');
    // RFC 6874 writes the zone separator inside brackets as "%25".
    return parseIpv6(host.slice(1, -1), true);
  }
  if (host.includes(':')) {
    const parsed = parseIpv6(host, false);
    return parsed.kind === 'ip'
      ? parsed
      : invalid('it contains ":" but is not an IPv6 address (give the port separately)');
  }
  const delimiter = URL_DELIMITERS.exec(host);
  if (delimiter) return invalid(`it contains ${JSON.stringify(delimiter[0])}`);
  return parseIpv4OrName(host);
}

/** Parse any IP spelling; undefined when `text` is not an IP address. */
export function parseIp(text: string): CanonicalIp | undefined {
  const parsed = parseHost(text);
  return parsed.kind === 'ip' ? parsed.ip : undefined;
}

/** The string to hand to `net.connect`: the canonical address plus its zone, if any. */
export function dialAddress(ip: CanonicalIp): string {
  return ip.zone === undefined ? ip.address : `${ip.address}%${ip.zone}`;
}

function parseIpv4OrName(host: string): ParsedHost {
  let hostname: string;
  try {
    // The WHATWG host parser lower-cases, maps full-width digits, converts IDNs to punycode, and
    // decides "ends in a number → must be IPv4" exactly like browsers; odd numeric forms come
    // back as a dotted quad.
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return invalid('it is neither a valid host name nor an IPv4 address');
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(hostname)) {
    return { kind: 'ip', ip: { family: 4, address: hostname, zone: undefined, embeddedIpv4: undefined } };
  }
  return validateName(hostname);
}

function validateName(name: string): ParsedHost {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length > MAX_NAME_LENGTH) return invalid(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  for (const label of bare.split('.')) {
    if (!LABEL.test(label)) {
      return invalid(
        label === ''
          ? 'it has an empty label'
          : `label ${JSON.stringify(label)} is not letters, digits, "-" and "_" (at most 63)`,
      );
    }
  }
  return { kind: 'name', name };
}

function parseIpv6(text: string, bracketed: boolean): ParsedHost {
  const percent = text.indexOf('%');
  let zone: string | undefined;
  let body = text;
  if (percent !== -1) {
    body = text.slice(0, percent);
    zone = text.slice(percent + 1);
    if (bracketed && zone.startsWith('25') && zone.length > 2) zone = zone.slice(2);
    if (!ZONE.test(zone)) return invalid('its IPv6 zone id is not letters, digits, ".", "-" and "_"');
  }
  let canonical: string;
  try {
    // The WHATWG IPv6 parser: strict, and it serialises RFC 5952 style. (ipaddr.js alone would
    // misread "::1.2.3.4" as IPv4-mapped.)
    canonical = new URL(`http://[${body}]/`).hostname.slice(1, -1);
  } catch {
    return invalid('it is not a valid IPv6 address');
  }
  const v6 = ipaddr.IPv6.parse(canonical);
  if (v6.isIPv4MappedAddress()) {
    // A zone means nothing on an IPv4 address; drop it with the mapping.
    const address = v6.toIPv4Address().toString();
    return { kind: 'ip', ip: { family: 4, address, zone: undefined, embeddedIpv4: undefined } };
  }
  return { kind: 'ip', ip: { family: 6, address: canonical, zone, embeddedIpv4: embeddedIpv4(v6.parts) } };
}

function embeddedIpv4(parts: number[]): string | undefined {
  const [p0, p1, p2, p3, p4, p5, p6, p7] = parts as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zero64 = p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0;
  // IPv4-compatible ::a.b.c.d; :: and ::1 are IPv6's own unspecified and loopback addresses.
  if (zero64 && p4 === 0 && p5 === 0) return p6 !== 0 || p7 > 1 ? quad(p6, p7) : undefined;
  // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765 / SIIT).
  if (zero64 && p4 === 0xffff && p5 === 0) return quad(p6, p7);
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052).
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) return quad(p6, p7);
  // 6to4 2002:aabb:ccdd::/48 (RFC 3056).
  if (p0 === 0x2002) return quad(p1, p2);
  // Teredo 2001:0:SERVER:FLAGS:PORT:CLIENT (RFC 4380): the client's IPv4 address, bits inverted, is
  // where the tunnel delivers the traffic.
  if (p0 === 0x2001 && p1 === 0) return quad(~p6 & 0xffff, ~p7 & 0xffff);
  return undefined;
}

function quad(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

function invalid(reason: string): ParsedHost {
  return { kind: 'invalid', reason };
}
