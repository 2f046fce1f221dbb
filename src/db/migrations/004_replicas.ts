import type { Knex } from 'knex';

// Several replicas on one database: the account row is the job (see db/sweep-store.ts).
// - lease_owner / lease_token: who holds the account's current claim. A claim pushes next_due_at to
//   the lease expiry (a visibility timeout), so an expired lease is simply due again; every result
//   write is fenced by the token.
// - claim_attempts: claims since the last recorded result; an account whose claims keep dying is
//   recorded as a failure instead of being claimed forever.
// - edit_version: bumped by every save and deletion (and only by them): an in-flight check's write is
//   fenced out by an edit. `updated` also moves on every check, so it cannot say "edited".
// - next_due_at gets its own index: the claim is one range of it in order (deleted accounts hold
//   NULL and fall outside it); the (account_status, next_due_at) index could not serve that.
// - mailmon_replica (heartbeats: how many replicas share the per-host limits) and mailmon_lease
//   (named leases: the leader that exports per-account series and runs housekeeping).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_account', (t) => {
    t.string('lease_owner', 64).nullable();
    t.string('lease_token', 32).nullable();
    /** The due time the current claim took the account at (restored on release; anchors the next due). */
    t.bigInteger('claimed_due_at').nullable();
    t.integer('claim_attempts').notNullable().defaultTo(0);
    t.integer('edit_version').notNullable().defaultTo(0);
    t.index(['next_due_at'], 'email_account_next_due_idx');
  });
  // Every account that can be checked is in the claim's range; only Deleted ones hold NULL.
  await knex('email_account')
    .whereNull('next_due_at')
    .whereNot('account_status', 1)
    .update({ next_due_at: 0 });
  await knex('email_account').where('account_status', 1).update({ next_due_at: null });

  await knex.schema.createTable('mailmon_replica', (t) => {
    t.string('replica_id', 64).primary();
    t.string('host', 255).notNullable();
    t.integer('pid').notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('heartbeat_at').notNullable();
  });
  await knex.schema.createTable('mailmon_lease', (t) => {
    t.string('name', 64).primary();
    t.string('owner', 64).nullable();
    t.bigInteger('lease_until').notNullable().defaultTo(0);
  });
  await knex('mailmon_lease').insert({ name: 'leader', owner: null, lease_until: 0 });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('mailmon_lease');
  await knex.schema.dropTable('mailmon_replica');
  await knex.schema.alterTable('email_account', (t) => {
    t.dropIndex(['next_due_at'], 'email_account_next_due_idx');
    t.dropColumn('edit_version');
    t.dropColumn('claim_attempts');
    t.dropColumn('claimed_due_at');
    t.dropColumn('lease_token');
    t.dropColumn('lease_owner');
  });
}
