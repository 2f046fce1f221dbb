import type { Knex } from 'knex';
import * as initial from './migrations/001_initial.js';
import * as oauth from './migrations/002_oauth.js';
import * as lastCheckTls from './migrations/003_last_check_tls.js';
import * as replicas from './migrations/004_replicas.js';
import * as delivery from './migrations/006_delivery.js';
import * as authBackoff from './migrations/007_auth_backoff.js';
import * as appOAuth from './migrations/008_app_oauth.js';
import * as fleet from './migrations/009_fleet.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Migrations are imported, not globbed from disk, so they work the same from src/ and dist/. */
const MIGRATIONS: Record<string, Migration> = {
  '001_initial': initial,
  '002_oauth': oauth,
  '003_last_check_tls': lastCheckTls,
  '004_replicas': replicas,
  '006_delivery': delivery,
  '007_auth_backoff': authBackoff,
  '008_app_oauth': appOAuth,
  '009_fleet': fleet,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name] as Migration,
};

const migrationConfig: Knex.MigratorConfig = { migrationSource: source, tableName: 'mailmon_migrations' };

/** Applies pending migrations (each in its own transaction where the dialect allows); returns their names. */
export async function migrateToLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(migrationConfig)) as [number, string[]];
  return applied;
}
