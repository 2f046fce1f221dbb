// A private database per test file on the shared MariaDB (127.0.0.1:3306, root, no password).
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { currentRunScope } from './run-scope.js';

/** Server URL without a database; MAILMON_TEST_MYSQL_URL overrides the default. */
export function mariadbServerUrl(): string {
  return process.env.MAILMON_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
}

const DB_PREFIX = 'mailmon_test_';

export interface TestDatabase {
  /** mysql://root@127.0.0.1:3306/NAME */
  url: string;
  name: string;
  /** DROP DATABASE; idempotent. */
  drop(): Promise<void>;
}

async function connectServer(connectTimeoutMs: number): Promise<mysql.Connection> {
  return mysql.createConnection({ uri: mariadbServerUrl(), connectTimeout: connectTimeoutMs });
}

/** True when a login and `SELECT 1` succeed within about 2 s. */
export async function mariadbAvailable(): Promise<boolean> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await connectServer(2_000);
    await conn.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await conn?.end().catch(() => undefined);
  }
}

/** CREATE DATABASE with a unique name (utf8mb4); the caller drops it in afterAll. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const runId = currentRunScope()?.id ?? 'norun';
  const name = `${DB_PREFIX}${runId}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const conn = await connectServer(5_000);
  try {
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
  let dropping: Promise<void> | undefined;
  return {
    url: `${mariadbServerUrl().replace(/\/+$/, '')}/${name}`,
    name,
    drop: () =>
      (dropping ??= (async () => {
        const c = await connectServer(5_000);
        try {
          await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
        } finally {
          await c.end();
        }
      })()),
  };
}

/** Drop every test database of one run (the global teardown's sweep); returns their names. */
export async function dropRunDatabases(runId: string): Promise<string[]> {
  if (!/^[a-z0-9]+$/.test(runId)) throw new Error('run id must be [a-z0-9]+');
  const conn = await connectServer(5_000);
  try {
    const pattern = `${DB_PREFIX}${runId}_`.replace(/_/g, '\\_') + '%';
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW DATABASES LIKE ?', [pattern]);
    const names = rows.map((r) => String(Object.values(r)[0]));
    for (const name of names) await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    return names;
  } finally {
    await conn.end();
  }
}
