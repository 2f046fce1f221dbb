// Which of the benchmark's peers are missing, named with the package that brings each one.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import knexFactory from 'knex';
import type { BenchOptions } from '../options.js';
import { BLACKBOX_BIN } from './blackbox.js';

export const CHECK_SIMAP = '/usr/lib/nagios/plugins/check_simap';

function onPath(bin: string): boolean {
  const dirs = bin.includes('/') ? [''] : (process.env.PATH ?? '').split(delimiter);
  return dirs.some((dir) => {
    try {
      accessSync(dir ? join(dir, bin) : bin, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const BINARIES: [string, string][] = [
  ['dovecot', 'apt-get install -y dovecot-imapd dovecot-submissiond'],
  ['doveadm', 'apt-get install -y dovecot-core'],
  ['openssl', 'apt-get install -y openssl'],
  ['/usr/bin/time', 'apt-get install -y time'],
  [BLACKBOX_BIN, 'apt-get install -y prometheus-blackbox-exporter'],
  [CHECK_SIMAP, 'apt-get install -y monitoring-plugins-basic'],
];

/** One line per missing peer: what, and how to get it. Empty when everything is there. */
export async function missingPeers(options: BenchOptions): Promise<string[]> {
  const missing = BINARIES.filter(([bin]) => !onPath(bin)).map(([bin, fix]) => `${bin} not found (${fix})`);
  if (options.dbs.includes('mariadb')) {
    const knex = knexFactory({
      client: 'mysql2',
      connection: { host: '127.0.0.1', port: 3306, user: 'root', connectTimeout: 3000 },
    });
    try {
      await knex.raw('SELECT 1');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      missing.push(
        `MariaDB at 127.0.0.1:3306 (user root, no password) not reachable: ${code} ` +
          '(apt-get install -y mariadb-server, then start it; or run with --db sqlite)',
      );
    } finally {
      await knex.destroy();
    }
  }
  return missing;
}
