import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createTestDatabase } from '../peers/mariadb.js';

export interface TestDb {
  url: string;
  db: Database;
  cleanup(): Promise<void>;
}

/** A migrated SQLite file in a temp dir. */
export async function sqliteTestDb(): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), 'mailmon-db-'));
  const url = `sqlite:${join(dir, 'mailmon.sqlite')}`;
  const db = openDatabase(url);
  await migrateToLatest(db.knex);
  return {
    url,
    db,
    cleanup: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A migrated private database on the local MariaDB. */
export async function mariadbTestDb(): Promise<TestDb> {
  const created = await createTestDatabase();
  const db = openDatabase(created.url);
  await migrateToLatest(db.knex);
  return {
    url: created.url,
    db,
    cleanup: async () => {
      await db.close();
      await created.drop();
    },
  };
}

export const DIALECTS = [
  { name: 'sqlite', peer: undefined, open: sqliteTestDb },
  { name: 'mariadb', peer: 'mariadb' as const, open: mariadbTestDb },
];
