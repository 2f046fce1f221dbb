// One scope per test run, made by the global setup: a temp dir that holds every peer's files and an
// id that prefixes every test database. The global teardown sweeps both, so a test that forgot (or
// crashed before) stop()/drop() leaves nothing behind, and concurrent runs never touch each other.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';

export interface RunScope {
  /** Parent of every peer temp dir of this run. */
  dir: string;
  /** [a-z0-9]+, part of every test database name of this run. */
  id: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/global-setup.ts. */
    runScope: RunScope;
  }
}

/** The run's scope inside a vitest worker; undefined elsewhere (e.g. a script using the helpers). */
export function currentRunScope(): RunScope | undefined {
  try {
    return inject('runScope');
  } catch {
    return undefined;
  }
}

/** A fresh temp dir inside the run's dir (or the OS temp dir outside vitest). */
export function peerTempDir(prefix: string): string {
  return mkdtempSync(join(currentRunScope()?.dir ?? tmpdir(), `${prefix}-`));
}

/** Pids whose command line mentions `dir` (e.g. `dovecot -F -c DIR/dovecot.conf`). Linux /proc. */
export function pidsMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM every process started from `dir`, SIGKILL what is left after `graceMs`. Returns the pids. */
export async function killProcessesMentioning(dir: string, graceMs = 3_000): Promise<number[]> {
  const pids = pidsMentioning(dir);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  return pids;
}
