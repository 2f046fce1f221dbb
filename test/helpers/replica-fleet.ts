// Set-up shared by the tests that run several `mailmon serve` replicas over one MariaDB database
// and one Dovecot: the config file, the environment, the imported accounts, and waiting for exits.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { runCli } from './cli.js';

export interface FleetSetup {
  dir: string;
  databaseUrl: string;
  imapPort: number;
  /** The scheduler and replicas lines of the config, as YAML flow mappings. */
  scheduler: string;
  replicas: string;
  /** More config lines (e.g. history). */
  extra?: string[];
  users: { user: string; pass: string }[];
  /** Accounts whose stored password is wrong. */
  isBad: (i: number) => boolean;
}

/** Writes the replicas' config, imports one IMAP account per user, returns the replicas' env. */
export async function setUpFleet(s: FleetSetup): Promise<Record<string, string>> {
  writeFileSync(
    join(s.dir, 'mailmon.yaml'),
    [
      'http: { port: 0 }',
      `scheduler: ${s.scheduler}`,
      `replicas: ${s.replicas}`,
      'egress: { allowCidrs: [127.0.0.0/8], allowedPorts: null }',
      ...(s.extra ?? []),
      'log: { format: json }',
    ].join('\n'),
  );
  const env = {
    MAILMON_CONFIG: join(s.dir, 'mailmon.yaml'),
    MAILMON_DATABASE_URL: s.databaseUrl,
    MAILMON_SECRET_KEY: generateKeyLine('k1'),
  };
  const accounts = s.users.map((u, i) => ({
    EMailAddress: `${u.user}@example.test`,
    IncomingCredentials: {
      Server: '127.0.0.1',
      Port: s.imapPort,
      Username: u.user,
      Password: s.isBad(i) ? 'wrong' : u.pass,
      Security: 'none',
    },
  }));
  const imported = await runCli(['accounts', 'import', '-'], env, JSON.stringify(accounts));
  expect(imported.code, imported.stderr).toBe(0);
  return env;
}

/** Resolves when the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
}
