import { promises as dns, type LookupAddress } from 'node:dns';
import { ProbeError } from '../probes/errors.js';
import { abortable } from '../probes/resolve.js';
import { dialAddress, parseHost, parseIp, type CanonicalIp } from './address.js';
import type { EgressConfig } from './config.js';
import { decideCanonical, decidePort, type EgressDecision, type PortList } from './policy.js';

/** Resolve `host` once, check it, and return the IP string the probe must connect to. */
export type EgressResolver = (host: string, port: number, signal: AbortSignal) => Promise<string>;

/** The shape of `dns.promises.lookup(host, { all: true })`; inject a stub in tests. */
export type LookupAll = (hostname: string, options: { all: true }) => Promise<LookupAddress[]>;

export const systemLookupAll: LookupAll = (hostname, options) => dns.lookup(hostname, options);

/**
 * Build the resolver every probe uses. Rejects with:
 * - ProbeError('config_invalid', 'dns') for an empty host or one with CR/LF, whitespace or other
 *   characters no host name or IP literal has;
 * - ProbeError('egress_denied', 'dns') when the port or ANY resolved address is refused (the
 *   message names the address, the rule and the config key);
 * - the lookup's own error, unchanged (ENOTFOUND, EAI_AGAIN, ...);
 * - `signal.reason` once the signal aborts (the lookup itself cannot be cancelled; it is abandoned).
 * IP literals in any spelling are checked without a lookup. The returned address is the checked
 * one, so the caller must connect to it and never look the name up again (DNS rebinding).
 */
export function createEgressResolver(
  config: EgressConfig,
  lookup: LookupAll = systemLookupAll,
  /** The port list to hold connections to: mail servers' (default) or OAuth2 token endpoints'. */
  ports: PortList = 'allowedPorts',
): EgressResolver {
  return async (host, port, signal) => {
    signal.throwIfAborted();
    const parsed = parseHost(host);
    if (parsed.kind === 'invalid') {
      throw new ProbeError('config_invalid', 'dns', `invalid host ${JSON.stringify(host)}: ${parsed.reason}`);
    }
    refuseUnlessAllowed(decidePort(port, config, ports));

    if (parsed.kind === 'ip') {
      refuseUnlessAllowed(decideCanonical(parsed.ip, config, host));
      return dialAddress(parsed.ip);
    }

    const records = await abortable(lookup(parsed.name, { all: true }), signal);
    const addresses = records.map((record) => parseResolved(record.address, parsed.name));
    if (addresses.length === 0) {
      throw Object.assign(new Error(`${parsed.name} resolved to no addresses`), {
        code: 'ENOTFOUND',
        hostname: parsed.name,
      });
    }
    const listed = addresses.map(dialAddress).join(', ');
    for (const address of addresses) {
      refuseUnlessAllowed(decideCanonical(address, config), `; ${parsed.name} resolved to ${listed}`);
    }
    // Every address passed, so the first (resolver order) is "the first allowed".
    return dialAddress(addresses[0] as CanonicalIp);
  };
}

function refuseUnlessAllowed(decision: EgressDecision, context = ''): void {
  if (!decision.allowed) throw new ProbeError('egress_denied', 'dns', decision.message + context);
}

function parseResolved(address: string, name: string): CanonicalIp {
  const ip = parseIp(address);
  // Fail closed: an answer we cannot read is an answer we cannot check.
  if (ip === undefined) {
    throw new ProbeError(
      'egress_denied',
      'dns',
      `egress denied: ${name} resolved to unreadable address ${JSON.stringify(address)}`,
    );
  }
  return ip;
}
