import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ProbeTarget } from '../probes/types.js';

export class ExtraCaError extends Error {
  override name = 'ExtraCaError';
}

/**
 * Reads tls.extraCaFile: PEM, one or more certificates. Undefined when not configured. Throws
 * ExtraCaError naming the key when the file cannot be read or holds no certificate.
 */
export async function readExtraCa(path: string | null): Promise<string | undefined> {
  if (path === null) return undefined;
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ExtraCaError(`tls.extraCaFile ${path} ${why}`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no certificate');
    for (const block of blocks) new X509Certificate(block);
  } catch {
    throw new ExtraCaError(
      `tls.extraCaFile ${path} must hold PEM certificates (-----BEGIN CERTIFICATE-----)`,
    );
  }
  return blocks.join('\n');
}

/** Targets without a CA of their own trust the extra CAs (besides the system CAs). */
export function withExtraCa(targets: readonly ProbeTarget[], extraCaPem: string | undefined): ProbeTarget[] {
  if (extraCaPem === undefined) return [...targets];
  return targets.map((target) => (target.caPem ? target : { ...target, caPem: extraCaPem }));
}
