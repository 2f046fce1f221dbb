import type { Knex } from 'knex';

// The delivery round trip (issue 12): the per-account opt-in and target, and the probe messages
// sent but not yet seen. A row is written BEFORE its message is sent, so a crash in between leaves
// a record that the next check resolves (found, or lost) instead of an untracked message.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_account', (t) => {
    t.boolean('delivery_check').notNullable().defaultTo(false);
    t.string('delivery_to', 254).nullable();
  });
  await knex.schema.createTable('delivery_probe', (t) => {
    t.increments('delivery_probe_id').primary();
    t.integer('email_account_id')
      .unsigned()
      .notNullable()
      .references('email_account_id')
      .inTable('email_account');
    t.index(['email_account_id']);
    t.string('token', 64).notNullable().unique();
    t.bigInteger('sent_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('delivery_probe');
  await knex.schema.alterTable('email_account', (t) => {
    t.dropColumn('delivery_to');
    t.dropColumn('delivery_check');
  });
}
