// What the harness hands a load-generating child (as a JSON file named by argv[2]) and what the
// child prints back on stdout (one JSON line).
import { readFileSync } from 'node:fs';

export interface LoopSpec {
  host: string;
  port: number;
  caPath: string;
  /** Accounts map onto users round-robin: check i logs in as user i % users. */
  users: number;
  checks: number;
  concurrency: number;
  /** Every check uses a wrong password. */
  wrongPassword?: boolean;
  /** imapflow: 'examine' (connect, login, EXAMINE INBOX, logout) or 'verify' (imapflow's verifyOnly). */
  variant?: string;
  /** blackbox: base URL of the exporter and how many per-user modules its config has. */
  exporterUrl?: string;
  modules?: number;
}

export interface LoopResult {
  checks: number;
  ok: number;
  failed: number;
  wallMs: number;
  /** Mean time of a check (ms), and the first failure's message, for the wrong-password rows. */
  meanCheckMs: number;
  firstError?: string;
  /** Commands the client sent in the first check (imapflow only). */
  commands?: string[];
}

export function readSpec(): LoopSpec {
  const path = process.argv[2];
  if (!path) throw new Error('usage: node TOOL.js SPEC.json');
  return JSON.parse(readFileSync(path, 'utf8')) as LoopSpec;
}

/** Run `checks` calls of `one` with at most `concurrency` at a time; print the LoopResult. */
export async function runLoop(
  spec: LoopSpec,
  one: (i: number) => Promise<void>,
  extra: Partial<LoopResult> = {},
): Promise<void> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  let checkMs = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < spec.checks) {
      const i = next++;
      const t0 = performance.now();
      try {
        await one(i);
        ok++;
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      checkMs += performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, spec.checks) }, worker));
  const result: LoopResult = {
    checks: spec.checks,
    ok,
    failed,
    wallMs: performance.now() - started,
    meanCheckMs: checkMs / Math.max(1, spec.checks),
    ...(firstError ? { firstError } : {}),
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
