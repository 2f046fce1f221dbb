// vitest globalSetup: find out once which real test peers exist and say so loudly, make the run's
// scope (temp dir + database prefix) and certificates, hand them to the test files via inject(), and
// refuse to run a CI build that would skip a peer. The teardown sweeps whatever tests left behind;
// the setup sweeps what killed runs left behind.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { generateTestCerts, runCertDir } from './peers/certs.js';
import { checkPeers, INSTALL_HINT, isCI, PEER_NAMES, type PeerReport } from './peers/require.js';
import { createRunScope, sweepRun, sweepStaleRuns } from './peers/run-sweep.js';

function banner(report: PeerReport, ci: boolean): { missing: string[]; text: string } {
  const missing = PEER_NAMES.filter((p) => !report[p]);
  const line = PEER_NAMES.map((p) => `${p}: ${report[p] ? 'yes' : 'MISSING'}`).join(', ');
  if (missing.length === 0) return { missing, text: `[test peers] ${line}` };
  const bar = '!'.repeat(78);
  const hints = missing.map((p) => `!!   ${p}: ${INSTALL_HINT[p]}`).join('\n');
  return {
    missing,
    text: `${bar}\n!! Test peers missing; ${ci ? 'CI=true, so the run FAILS' : 'suites that need them are SKIPPED'}.\n!! ${line}\n${hints}\n${bar}`,
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scope = createRunScope();
  let report: PeerReport | undefined;
  try {
    mkdirSync(runCertDir(scope.dir));
    [report] = await Promise.all([
      checkPeers(),
      generateTestCerts(runCertDir(scope.dir)),
      buildCli(scope.dir),
    ]);
    const stale = await sweepStaleRuns(report.mariadb);
    if (stale.length > 0) console.warn(`[test peers] removed ${stale.length} run dir(s) left by killed runs`);
    const { missing, text } = banner(report, isCI());
    if (missing.length > 0 && isCI()) {
      throw new Error(`test peers missing: ${missing.join(', ')}\n${text}`);
    }
    if (missing.length > 0) console.warn(text);
    else console.log(text);
  } catch (err) {
    await sweepRun(scope, report?.mariadb ?? false);
    throw err;
  }
  project.provide('peers', report);
  project.provide('runScope', scope);
  project.provide('cliEntry', join(scope.dir, 'dist', 'cli', 'index.js'));
  return async () => {
    const { pids, databases } = await sweepRun(scope, report.mariadb);
    if (pids.length > 0)
      console.warn(`[test peers] teardown stopped ${pids.length} leftover peer process(es)`);
    if (databases.length > 0)
      console.warn(`[test peers] teardown dropped leftover databases: ${databases.join(', ')}`);
  };
}

/**
 * Compiles src/ once per run into the run dir, so tests that spawn the real `mailmon` CLI start a
 * plain node process (about 0.3 s) instead of compiling TypeScript in every child (2-4 s).
 */
async function buildCli(runDir: string): Promise<void> {
  const root = resolve(import.meta.dirname, '..');
  try {
    await promisify(execFile)(process.execPath, [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(runDir, 'dist'),
    ]);
  } catch (error) {
    // tsc still emits on type errors; `npm run typecheck` is the gate for those, so CLI tests run.
    const output = (error as { stdout?: string }).stdout ?? String(error);
    console.warn(`[test setup] the CLI build reported type errors:\n${output}`);
  }
  // What `npm run build` copies besides the compiled code: the console's script and stylesheet.
  cpSync(join(root, 'src', 'http', 'ui', 'public'), join(runDir, 'dist', 'http', 'ui', 'public'), {
    recursive: true,
  });
  writeFileSync(join(runDir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(root, 'node_modules'), join(runDir, 'node_modules'));
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The compiled CLI entry point of this run (see buildCli). */
    cliEntry: string;
  }
}
