// Prometheus blackbox_exporter (Debian package) as a peer: one tcp module per benchmark user,
// each doing implicit TLS and an IMAP LOGIN through query_response (a module's send strings are
// fixed, so per-account credentials mean per-account modules), plus one with a wrong password.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts, waitForHttp } from './net.js';

export const BLACKBOX_BIN = 'prometheus-blackbox-exporter';
/** What blackbox waits before it calls a probe failed; also check_simap's -t. */
export const PEER_TIMEOUT_S = 5;

export interface Blackbox {
  url: string;
  pid: number;
  modules: number;
  configPath: string;
  stop(): Promise<void>;
}

function module(user: string, pass: string, caPath: string): string {
  return [
    `    prober: tcp`,
    `    timeout: ${PEER_TIMEOUT_S}s`,
    `    tcp:`,
    `      tls: true`,
    `      tls_config: { ca_file: "${caPath}" }`,
    `      query_response:`,
    `        - expect: "^\\\\* OK"`,
    `        - send: "a1 LOGIN ${user} ${pass}\\r"`,
    `        - expect: "^a1 OK"`,
    `        - send: "a2 LOGOUT\\r"`,
  ].join('\n');
}

export function blackboxConfig(modules: number, caPath: string): string {
  const lines = ['modules:'];
  for (let i = 0; i < modules; i++) {
    lines.push(`  imap_u${i}:`, module(`u${String(i).padStart(6, '0')}`, `pw-${i}-bench`, caPath));
  }
  lines.push('  imap_wrong:', module('u000000', 'wrong', caPath));
  return lines.join('\n') + '\n';
}

export async function startBlackbox(dir: string, modules: number, caPath: string): Promise<Blackbox> {
  const configPath = join(dir, 'blackbox.yml');
  writeFileSync(configPath, blackboxConfig(modules, caPath));
  const [port] = await freePorts(1);
  const child: ChildProcess = spawn(
    BLACKBOX_BIN,
    [`--config.file=${configPath}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitForHttp(`${url}/-/healthy`, 10_000);
  } catch (error) {
    await stop();
    throw new Error(`blackbox_exporter did not start: ${stderr.trim()}`, { cause: error });
  }
  return { url, pid: child.pid!, modules, configPath, stop };
}
