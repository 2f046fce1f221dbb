// Which real test peers exist on this machine, and a describe() that refuses to pass silently
// without its peer: skipped with a loud banner locally, failed in CI.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, inject, it } from 'vitest';
import { mariadbAvailable } from './mariadb.js';

export type PeerName = 'dovecot' | 'mariadb' | 'promtool' | 'prometheus' | 'chromium';
export const PEER_NAMES: readonly PeerName[] = ['dovecot', 'mariadb', 'promtool', 'prometheus', 'chromium'];
export type PeerReport = Record<PeerName, boolean>;

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/global-setup.ts: which peers answered when the run started. */
    peers: PeerReport;
  }
}

export const INSTALL_HINT: Record<PeerName, string> = {
  dovecot: 'apt-get install -y dovecot-imapd dovecot-submissiond (or run: sudo bash scripts/test-peers.sh)',
  mariadb:
    'apt-get install -y mariadb-server, then start it on 127.0.0.1:3306 with root/no password (scripts/test-peers.sh does both)',
  promtool: 'apt-get install -y prometheus (brings /usr/bin/promtool)',
  prometheus: 'apt-get install -y prometheus',
  chromium: 'apt-get install -y chromium (the console tests drive it with playwright-core)',
};

const BINARIES: Record<Exclude<PeerName, 'mariadb'>, string[]> = {
  dovecot: ['dovecot', 'doveadm'],
  promtool: ['promtool'],
  prometheus: ['prometheus'],
  chromium: ['chromium'],
};

/** Absolute path of an executable on PATH (plus the sbin dirs a non-root PATH may lack). */
export function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return join(d, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Synchronous check for the peers that are plain binaries. */
export function binaryPeerAvailable(peer: Exclude<PeerName, 'mariadb'>): boolean {
  return BINARIES[peer].every((b) => which(b) !== undefined);
}

/** Whether the peer can be used right now (MariaDB: a login and `SELECT 1` succeed). */
export async function peerAvailable(peer: PeerName): Promise<boolean> {
  return peer === 'mariadb' ? mariadbAvailable() : binaryPeerAvailable(peer);
}

export async function checkPeers(): Promise<PeerReport> {
  const entries = await Promise.all(PEER_NAMES.map(async (p) => [p, await peerAvailable(p)] as const));
  return Object.fromEntries(entries) as PeerReport;
}

export function isCI(): boolean {
  return process.env.CI === 'true';
}

function injectedReport(): PeerReport | undefined {
  try {
    return inject('peers');
  } catch {
    return undefined;
  }
}

function knownAvailable(peer: PeerName): boolean {
  const report = injectedReport();
  if (report) return report[peer];
  // Without the global setup only binaries can be checked synchronously; assume MariaDB is there,
  // so a missing one fails loudly instead of skipping quietly.
  return peer === 'mariadb' ? true : binaryPeerAvailable(peer);
}

export type PeerSuiteMode = 'run' | 'skip' | 'fail';

/** What a suite does about its peer: run it, skip it (locally), or fail it (CI never skips). */
export function peerSuiteMode(available: boolean, ci: boolean): PeerSuiteMode {
  if (available) return 'run';
  return ci ? 'fail' : 'skip';
}

/**
 * `describe(name, fn)` when `peer` is available. Otherwise: in CI (CI=true) a failing test naming the
 * missing peer; locally a skipped suite plus a console.warn banner saying how to install it.
 */
export function describeWithPeer(peer: PeerName, name: string, fn: () => void): void {
  const mode = peerSuiteMode(knownAvailable(peer), isCI());
  if (mode === 'run') {
    describe(name, fn);
    return;
  }
  const why = `test peer "${peer}" is not available. Install: ${INSTALL_HINT[peer]}`;
  if (mode === 'fail') {
    describe(name, () => {
      it(`requires ${peer}`, () => {
        throw new Error(`CI=true and ${why}`);
      });
    });
    return;
  }
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING "${name}": ${why}\n${'!'.repeat(78)}\n`);
  describe.skip(`${name} [SKIPPED: no ${peer}]`, fn);
}
