// Creating and sweeping run scopes (used by test/global-setup.ts). A run whose vitest process was
// killed never runs its teardown; the next run's setup sweeps such orphans (only dirs named
// mailmon-run-* whose recorded owner process is gone).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropRunDatabases } from './mariadb.js';
import { killProcessesMentioning, type RunScope } from './run-scope.js';

const RUN_PREFIX = 'mailmon-run-';
const OWNER_FILE = 'owner.json';
/** A run dir without an owner file (never fully created) is stale after this long. */
const UNOWNED_STALE_MS = 10 * 60_000;

interface Owner {
  pid: number;
  id: string;
}

export function createRunScope(): RunScope {
  const dir = mkdtempSync(join(tmpdir(), RUN_PREFIX));
  // Peers drop privileges (Dovecot's mail and auth users) and must traverse into their dirs.
  chmodSync(dir, 0o755);
  const scope: RunScope = { dir, id: randomBytes(4).toString('hex') };
  const owner: Owner = { pid: process.pid, id: scope.id };
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner));
  return scope;
}

export interface SweepResult {
  pids: number[];
  databases: string[];
}

/** Stop the run's leftover processes, drop its leftover databases, remove its dir. Never throws. */
export async function sweepRun(scope: RunScope, dropDatabases: boolean): Promise<SweepResult> {
  const result: SweepResult = { pids: [], databases: [] };
  try {
    result.pids = await killProcessesMentioning(scope.dir);
    if (dropDatabases) result.databases = await dropRunDatabases(scope.id);
  } catch (err) {
    console.warn(`[test peers] sweep of ${scope.dir} incomplete:`, err);
  }
  try {
    rmSync(scope.dir, { recursive: true, force: true });
  } catch (err) {
    console.warn(`[test peers] could not remove ${scope.dir}:`, err);
  }
  return result;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(dir: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** Sweep run dirs of earlier runs whose owner process is gone. Returns the dirs swept. */
export async function sweepStaleRuns(dropDatabases: boolean): Promise<string[]> {
  const swept: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(RUN_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const owner = readOwner(dir);
    try {
      if (owner ? alive(owner.pid) : Date.now() - statSync(dir).mtimeMs < UNOWNED_STALE_MS) continue;
    } catch {
      continue; // vanished meanwhile
    }
    await sweepRun({ dir, id: owner?.id ?? '' }, dropDatabases && owner !== undefined);
    swept.push(dir);
  }
  return swept;
}
