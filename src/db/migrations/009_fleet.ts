import type { Knex } from 'knex';

// The leader exports the per-account series from the database: after one full read when it gains
// the lease, it reads only the accounts changed since its last look, by `updated` (moved by every
// save, deletion and recorded check). This index makes that one short range instead of a scan of
// every account at each heartbeat.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_account', (t) => {
    t.index(['updated'], 'email_account_updated_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_account', (t) => {
    t.dropIndex(['updated'], 'email_account_updated_idx');
  });
}
