// Shared by the probe tests: run a probe with a deadline and assert it returned in time, and an
// afterEach check that a check left no socket, server or timer behind.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { Probe, ProbeOptions, ProbeResult, ProbeTarget } from '../../src/probes/types.js';

/** Resource types a probe could leak (see process.getActiveResourcesInfo()). */
const WATCHED = ['TCPSocketWrap', 'TCPWrap', 'TLSWrap', 'Timeout', 'GetAddrInfoReqWrap', 'TCPConnectWrap'];

function counts(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo())
    if (WATCHED.includes(r)) out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}

export interface HandleSnapshot {
  /** Resolves once no watched resource type exceeds the snapshot (polls up to `settleMs`); else fails. */
  assertNoLeak(settleMs?: number): Promise<void>;
}

export function snapshotHandles(): HandleSnapshot {
  const before = counts();
  return {
    async assertNoLeak(settleMs = 1_000) {
      const until = performance.now() + settleMs;
      let extra: string[] = [];
      do {
        const now = counts();
        extra = [...now]
          .filter(([k, n]) => n > (before.get(k) ?? 0))
          .map(([k, n]) => `${k}: ${before.get(k) ?? 0} -> ${n}`);
        if (extra.length === 0) return;
        await sleep(25);
      } while (performance.now() < until);
      expect(extra, 'handles still open after the check').toEqual([]);
    },
  };
}

export interface TimedResult {
  result: ProbeResult;
  elapsedMs: number;
}

/** Run `probe` once; asserts it came back within timeoutMs + 1 s and never threw. */
export async function runProbe(
  probe: Probe,
  target: ProbeTarget,
  options: Partial<ProbeOptions> = {},
): Promise<TimedResult> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const t0 = performance.now();
  const result = await probe.run(target, { signal: new AbortController().signal, ...options, timeoutMs });
  const elapsedMs = performance.now() - t0;
  expect(elapsedMs, 'probe returned within its deadline + 1 s').toBeLessThan(timeoutMs + 1_000);
  return { result, elapsedMs };
}

/** A failure's code, phase and reason together, for one readable assertion. */
export function outcome(r: ProbeResult): { ok: boolean; code: string | null; phase: string | null } {
  return { ok: r.ok, code: r.code, phase: r.phase };
}
