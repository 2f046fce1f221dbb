import { spawn, type ChildProcess } from 'node:child_process';
import { inject } from 'vitest';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The real CLI as a subprocess: this run's compiled build (see test/global-setup.ts). */
export function spawnCli(args: string[], env: Record<string, string>, stdin?: string): ChildProcess {
  const child = spawn(process.execPath, [inject('cliEntry'), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  else child.stdin?.end();
  return child;
}

export function collect(child: ChildProcess): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<CliRun> {
  return collect(spawnCli(args, env, stdin));
}
