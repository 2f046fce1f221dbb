// Host name → the one IP address a probe connects to. The default uses the system resolver
// (dns.lookup, as net.connect would); the egress policy supplies its own Resolver instead.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ProbeError, toError } from './errors.js';
import type { Resolver } from './types.js';

/** resolver error codes meaning "this name has no address" (dns and getaddrinfo spellings). */
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA', 'NXDOMAIN', 'ENONAME']);

/** "[::1]" → "::1"; anything else unchanged. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The default Resolver: IP literals as they are, names through dns.lookup (first address, as
 * the OS orders them). Abandons the lookup when `signal` aborts (getaddrinfo itself cannot be
 * cancelled; its result is dropped).
 */
export const systemResolve: Resolver = async (host, _port, signal) => {
  const bare = unbracket(host);
  if (isIP(bare)) return bare;
  signal.throwIfAborted();
  const { address } = await abortable(lookup(bare), signal);
  return address;
};

/** Settle with `promise`, or reject with `signal.reason` as soon as the signal aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Runs `resolve` and classifies its failure: a ProbeError (the egress policy's refusal) passes
 * through unchanged; a "no such name" error becomes dns_not_found; any other resolver failure
 * becomes network_error in the dns phase. A non-IP answer is a bug in the resolver.
 */
export async function resolveAddress(
  resolve: Resolver,
  host: string,
  port: number,
  signal: AbortSignal,
): Promise<string> {
  let address: string;
  try {
    address = await resolve(host, port, signal);
  } catch (thrown) {
    if (thrown instanceof ProbeError) throw thrown;
    if (signal.aborted && thrown === signal.reason) throw thrown;
    const err = toError(thrown);
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (NOT_FOUND_CODES.has(code)) {
      throw new ProbeError('dns_not_found', 'dns', `host name not found (${code})`, { cause: err });
    }
    throw new ProbeError('network_error', 'dns', `DNS lookup failed (${code || err.name})`, { cause: err });
  }
  const bare = unbracket(address);
  if (!isIP(bare)) {
    throw new ProbeError('internal_error', 'dns', 'resolver returned something that is not an IP address');
  }
  return bare;
}
