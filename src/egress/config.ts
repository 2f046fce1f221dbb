import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/** Ports a mail probe normally needs: SMTP, IMAP, SMTPS, submission, IMAPS and the common alternate 2525. */
export const DEFAULT_ALLOWED_PORTS: readonly number[] = Object.freeze([25, 143, 465, 587, 993, 2525]);

/**
 * Where probes may connect. Refusal messages name these keys as `egress.<key>`, so the config schema
 * must embed this object under the key `egress`.
 */
export interface EgressConfig {
  /** Refuse RFC 1918, CGNAT (100.64.0.0/10) and unique-local IPv6 (fc00::/7). Default false: internal mail servers are normal. */
  readonly denyPrivate: boolean;
  /** CIDRs (or single IPs) allowed even when a built-in rule or denyPrivate would refuse them. Default []. */
  readonly allowCidrs: readonly string[];
  /** CIDRs (or single IPs) always refused; checked before everything else. Default []. */
  readonly denyCidrs: readonly string[];
  /** TCP ports probes may connect to; null allows any port. Default DEFAULT_ALLOWED_PORTS. */
  readonly allowedPorts: readonly number[] | null;
  /** TCP ports an OAuth2 token endpoint may be on; null allows any port. Default [443]. */
  readonly tokenEndpointPorts: readonly number[] | null;
}

/** Token endpoints are HTTPS on the standard port. */
export const DEFAULT_TOKEN_ENDPOINT_PORTS: readonly number[] = Object.freeze([443]);

export const DEFAULT_EGRESS_CONFIG: EgressConfig = Object.freeze({
  denyPrivate: false,
  allowCidrs: Object.freeze([]) as readonly string[],
  denyCidrs: Object.freeze([]) as readonly string[],
  allowedPorts: DEFAULT_ALLOWED_PORTS,
  tokenEndpointPorts: DEFAULT_TOKEN_ENDPOINT_PORTS,
});

/**
 * Config CIDRs are strict: dotted-quad IPv4 or standard IPv6, with an optional /prefix (a bare
 * address means /32 or /128). Odd spellings (0x7f.1) are for attackers, not for config files.
 */
export function isValidCidr(text: string): boolean {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const prefix = slash === -1 ? undefined : text.slice(slash + 1);
  let max: number;
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) max = 32;
  else if (ipaddr.IPv6.isValid(address) && !address.includes('%')) max = 128;
  else return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= max;
}

const cidr = z.string().refine(isValidCidr, {
  message: 'expected a CIDR such as 10.0.0.0/8 or fd00::/8, or a single IP address',
});

const port = z.number().int().min(1).max(65535);

/**
 * Zod 4 schema for `EgressConfig`. Every field has a default and a missing `egress` object parses
 * to DEFAULT_EGRESS_CONFIG (prefault), so embed it as `egress: egressConfigSchema`.
 */
export const egressConfigSchema = z
  .strictObject({
    denyPrivate: z.boolean().default(false),
    allowCidrs: z.array(cidr).default([]),
    denyCidrs: z.array(cidr).default([]),
    allowedPorts: z
      .array(port)
      .nullable()
      .default(() => [...DEFAULT_ALLOWED_PORTS]),
    tokenEndpointPorts: z
      .array(port)
      .nullable()
      .default(() => [...DEFAULT_TOKEN_ENDPOINT_PORTS]),
  })
  .prefault({});
