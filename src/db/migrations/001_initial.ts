import type { Knex } from 'knex';

// Table and column names follow SuperOffice's email_account / service_auth so CRM data maps 1:1.
// Times are stored as epoch milliseconds (BIGINT) on every dialect: exact, and free of time zones.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('service_auth', (t) => {
    t.increments('service_auth_id').primary();
    t.string('server', 255).notNullable();
    t.integer('port').notNullable();
    t.string('auth_type', 32).notNullable();
    t.string('username', 255).notNullable();
    /** Encrypted (see src/crypto); never clear text. */
    t.text('password').notNullable();
    t.string('security', 16).notNullable();
    t.boolean('accept_unverified_cert').notNullable().defaultTo(false);
    /** Extra trusted CA (PEM) for this server, besides the system CAs. */
    t.text('ca_pem').nullable();
    t.bigInteger('registered').notNullable();
    t.bigInteger('updated').notNullable();
  });

  await knex.schema.createTable('email_account', (t) => {
    t.increments('email_account_id').primary();
    t.string('email_address', 255).notNullable();
    t.integer('associate_id').notNullable().defaultTo(0);
    t.integer('incoming_auth').unsigned().nullable().references('service_auth_id').inTable('service_auth');
    t.integer('outgoing_auth').unsigned().nullable().references('service_auth_id').inTable('service_auth');
    t.tinyint('account_status').notNullable().defaultTo(0);
    t.integer('error_count').notNullable().defaultTo(0);
    t.string('error_reason', 255).notNullable().defaultTo('');
    t.bigInteger('registered').notNullable();
    t.bigInteger('updated').notNullable();
    t.bigInteger('last_check_at').nullable();
    t.bigInteger('last_success_at').nullable();
    t.bigInteger('next_due_at').nullable();
    t.index(['account_status', 'next_due_at'], 'email_account_due_idx');
  });

  // The latest result of each side of each account: restores metrics after a restart and keeps the
  // last transcript retrievable.
  await knex.schema.createTable('last_check', (t) => {
    t.integer('email_account_id')
      .unsigned()
      .notNullable()
      .references('email_account_id')
      .inTable('email_account');
    t.string('side', 8).notNullable();
    t.bigInteger('checked_at').notNullable();
    t.boolean('ok').notNullable();
    t.string('code', 64).nullable();
    t.string('phase', 32).nullable();
    t.string('reason', 255).nullable();
    t.integer('duration_ms').notNullable();
    t.bigInteger('last_success_at').nullable();
    /** Redacted details (phase timings, TLS facts, transcript) as JSON. */
    t.text('details', 'mediumtext').nullable();
    t.primary(['email_account_id', 'side']);
  });

  // History: "when did this start failing?". Pruned by history.retentionDays.
  await knex.schema.createTable('check_result', (t) => {
    t.bigIncrements('check_result_id').primary();
    t.integer('email_account_id')
      .unsigned()
      .notNullable()
      .references('email_account_id')
      .inTable('email_account');
    t.bigInteger('checked_at').notNullable();
    t.string('side', 8).notNullable();
    t.boolean('ok').notNullable();
    t.string('code', 64).nullable();
    t.string('phase', 32).nullable();
    t.string('reason', 255).nullable();
    t.integer('duration_ms').notNullable();
    t.index(['email_account_id', 'checked_at'], 'check_result_account_idx');
    t.index(['checked_at'], 'check_result_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('check_result');
  await knex.schema.dropTable('last_check');
  await knex.schema.dropTable('email_account');
  await knex.schema.dropTable('service_auth');
}
