import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import { markQueryError } from '../logging/safe-error.js';
import { cachePreparedStatements } from './sqlite-statements.js';

/** knex and its pool print to the console by default; send their messages to our logger instead. */
function knexLog(logger: Logger): Knex.Logger {
  const child = logger.child({ component: 'database' });
  const text = (message: unknown) => (message instanceof Error ? message.message : String(message));
  return {
    warn: (message) => child.warn(text(message)),
    error: (message) => child.error(text(message)),
    deprecate: (method, alternative) => child.debug(`knex: ${method} is deprecated, use ${alternative}`),
    debug: (message) => child.debug(text(message)),
  };
}

export type Dialect = 'sqlite' | 'mysql';

/** Whether `knex` talks to MySQL/MariaDB. */
export function isMysql(knex: Knex): boolean {
  return /mysql/i.test(String(knex.client.config.client));
}

/**
 * `<expression> = ?`, compared byte for byte on both dialects: MySQL's default collation compares
 * text case-insensitively, and ciphertexts must match exactly.
 */
export function bytesEqual(knex: Knex, expression: string): string {
  return isMysql(knex) ? `CAST(${expression} AS BINARY) = ?` : `${expression} = ?`;
}

export interface Database {
  knex: Knex;
  dialect: Dialect;
  /** A description safe to log (no password). */
  describe: string;
  close(): Promise<void>;
}

/**
 * Opens the database named by a URL: `sqlite:PATH`, `sqlite:///ABS/PATH`, `sqlite::memory:`, or
 * `mysql://user:pass@host:port/db` (also `mariadb://`).
 */
export interface OpenOptions {
  poolMax?: number;
  logger?: Logger;
  /**
   * MySQL/MariaDB: the server drops a connection idle this long, s (session `wait_timeout`), also
   * one idle inside an open transaction. A replica frozen mid-transaction (SIGSTOP, a long GC
   * pause, a partition) would otherwise keep its row locks for the server's default 8 hours, and
   * `SKIP LOCKED` claims would pass those accounts over all that time. Must exceed the pool's own
   * idle reaping (30 s) so the server never closes a connection the pool still offers.
   */
  idleTimeoutSeconds?: number;
}

/** The default of `OpenOptions.idleTimeoutSeconds`. */
export const MYSQL_IDLE_TIMEOUT_SECONDS = 90;

export function openDatabase(url: string, options: OpenOptions = {}): Database {
  const log = options.logger ? knexLog(options.logger) : undefined;
  let db: Database;
  if (url.startsWith('sqlite:')) db = openSqlite(sqlitePath(url), log);
  else if (/^(mysql|mariadb):\/\//.test(url))
    db = openMysql(url, options.poolMax ?? 10, options.idleTimeoutSeconds ?? MYSQL_IDLE_TIMEOUT_SECONDS, log);
  else throw new Error('database URL must start with sqlite:, mysql:// or mariadb://');
  // knex has just put the failed query's SQL, values and all, into the error's message: tell the
  // logger's safe-error helpers, which then show only the driver's message.
  db.knex.on('query-error', markQueryError);
  return db;
}

export function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  if (rest === ':memory:') return rest;
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

function openSqlite(path: string, log: Knex.Logger | undefined): Database {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: path },
    useNullAsDefault: true,
    ...(log ? { log } : {}),
    pool: {
      min: 1,
      max: 1,
      // WAL lets readers (the CLI, the API) run beside the daemon's writer; busy_timeout makes a
      // second process wait for the write lock instead of failing at once.
      afterCreate(
        conn: { pragma(sql: string): unknown; prepare(sql: string): unknown },
        done: (err: Error | null, conn: unknown) => void,
      ) {
        try {
          cachePreparedStatements(conn);
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 10000');
          conn.pragma('foreign_keys = ON');
          conn.pragma('synchronous = NORMAL');
          done(null, conn);
        } catch (error) {
          done(error as Error, conn);
        }
      },
    },
  });
  return { knex, dialect: 'sqlite', describe: `sqlite:${path}`, close: () => knex.destroy() };
}

function openMysql(
  url: string,
  poolMax: number,
  idleTimeoutSeconds: number,
  log: Knex.Logger | undefined,
): Database {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database)
    throw new Error('database URL must name a database, e.g. mysql://user:pass@host:3306/mailmon');
  const knex = knexFactory({
    client: 'mysql2',
    connection: {
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : 3306,
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database,
      charset: 'utf8mb4',
      connectTimeout: 10_000,
    },
    pool: {
      min: 0,
      max: poolMax,
      afterCreate(
        conn: { query(sql: string, values: unknown[], cb: (err: Error | null) => void): void },
        done: (err: Error | null, conn: unknown) => void,
      ) {
        conn.query('SET SESSION wait_timeout = ?', [Math.ceil(idleTimeoutSeconds)], (err) => done(err, conn));
      },
    },
    acquireConnectionTimeout: 10_000,
    ...(log ? { log } : {}),
  });
  const describe = `mysql://${parsed.hostname}:${parsed.port || 3306}/${database}`;
  return { knex, dialect: 'mysql', describe, close: () => knex.destroy() };
}
