// mailmon's own IMAP probes in a bare loop, without the database, the scheduler or metrics: how much
// of a check is the probe itself (full = imapflow, login = the lean probe). Loads the compiled
// probes from dist/ at run time (the bench compiles apart from src/).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../measure.js';
import { readSpec, runLoop } from './spec.js';

interface ProbeLike {
  run(
    target: Record<string, unknown>,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<{ ok: boolean; code: string | null; reason: string | null }>;
}

const spec = readSpec();
const caPem = readFileSync(spec.caPath, 'utf8');
const imap = (await import(join(ROOT, 'dist/probes/imap.js'))) as { createImapProbe(): ProbeLike };
const lean = (await import(join(ROOT, 'dist/probes/imap-login.js'))) as {
  createImapLoginProbe(deps: { full: ProbeLike }): ProbeLike;
};
const full = imap.createImapProbe();
const probe = spec.variant === 'login' ? lean.createImapLoginProbe({ full }) : full;
const signal = new AbortController().signal;

await runLoop(spec, async (i) => {
  const u = i % spec.users;
  const result = await probe.run(
    {
      protocol: 'imap',
      host: spec.host,
      port: spec.port,
      security: 'tls',
      authType: 'password',
      username: `u${String(u).padStart(6, '0')}`,
      secret: spec.wrongPassword ? 'wrong' : `pw-${u}-bench`,
      acceptUnverifiedCert: false,
      caPem,
    },
    { signal, timeoutMs: 10_000 },
  );
  if (!result.ok) throw new Error(`${result.code}: ${result.reason}`);
});
