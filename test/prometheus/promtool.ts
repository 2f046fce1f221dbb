// Running promtool from tests: exit code and output, stdin optional. Never throws on a non-zero exit,
// so a test can assert on the code and show promtool's own words when it fails.
import { spawn } from 'node:child_process';
import { which } from '../peers/require.js';

export interface PromtoolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function promtool(args: string[], stdin?: string): Promise<PromtoolRun> {
  const bin = which('promtool') ?? 'promtool';
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
