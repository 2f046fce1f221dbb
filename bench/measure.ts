// Running one measured process: Node children get the stats preload (CPU, peak RSS, statements),
// other programs run under GNU time (its rusage covers the waited-for descendants too, so
// `time xargs -P C check_simap ...` gives the CPU of every plugin process), and long-lived peers
// are read off /proc.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PRELOAD = join(ROOT, 'dist/bench/preload.js');
export const MAILMON_CLI = join(ROOT, 'dist/cli/index.js');
export const TOOLS = join(ROOT, 'dist/bench/tools');
const CLOCK_TICKS_PER_S = 100;

export interface ProcStats {
  cpuMs: number;
  maxRssKb: number;
  statements: number;
  /** Write transactions committed (COMMIT, or a write outside a transaction). */
  commits?: number;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  stats: ProcStats;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  /** Called with the child's pid once it runs. */
  onSpawn?: (pid: number) => void;
  cwd?: string;
}

function collect(
  cmd: string,
  args: string[],
  options: RunOptions,
): Promise<{ code: number | null; stdout: string; stderr: string; wallMs: number }> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    child.stdin.end(options.stdin ?? '');
    child.on('close', (code) =>
      resolvePromise({ code, stdout, stderr, wallMs: performance.now() - started }),
    );
  });
}

let statsSeq = 0;

/** A Node script under the stats preload; `countStatements` counts knex statements too. */
export async function runNode(
  tmp: string,
  script: string,
  args: string[],
  options: RunOptions & { countStatements?: boolean; nodeArgs?: string[] } = {},
): Promise<Ran> {
  const statsFile = join(tmp, `stats-${process.pid}-${++statsSeq}.json`);
  const ran = await collect(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', PRELOAD, script, ...args],
    {
      ...options,
      env: {
        ...options.env,
        BENCH_STATS_FILE: statsFile,
        BENCH_COUNT_STATEMENTS: options.countStatements ? '1' : '0',
      },
    },
  );
  const stats = existsSync(statsFile)
    ? (JSON.parse(readFileSync(statsFile, 'utf8')) as ProcStats)
    : { cpuMs: NaN, maxRssKb: NaN, statements: NaN };
  rmSync(statsFile, { force: true });
  return { ...ran, stats };
}

/** Any program under GNU time: CPU of it and its waited-for descendants, and the largest peak RSS. */
export async function runTimed(
  tmp: string,
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<Ran> {
  const out = join(tmp, `time-${process.pid}-${++statsSeq}.txt`);
  const ran = await collect('/usr/bin/time', ['-f', '%U %S %M', '-o', out, cmd, ...args], options);
  const [user, sys, rss] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(out, { force: true });
  return { ...ran, stats: { cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000, maxRssKb: rss ?? NaN, statements: 0 } };
}

/** CPU time (all threads) and peak RSS so far of a running process. */
export function procSample(pid: number): { cpuMs: number; hwmKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" of the command name: utime is field 14, stime 15 (1-based).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_S, hwmKb: Number(hwm ?? NaN) };
}

/**
 * The counters of a running Node process under the preload (it writes them on SIGUSR2), or null
 * when it does not answer within a second.
 */
export async function statsSnapshot(pid: number, statsFile: string): Promise<ProcStats | null> {
  const snap = `${statsFile}.snap`;
  rmSync(snap, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 10));
    if (!existsSync(snap)) continue;
    try {
      return JSON.parse(readFileSync(snap, 'utf8')) as ProcStats;
    } catch {
      // still being written
    }
  }
  return null;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
