import type { Knex } from 'knex';

// Lockout-safe checks (issue 11): an account's credential failures in a row, shared by every
// replica on the row that is the job, so a wrong password backs off fleet-wide (checks/next-due.ts).
// - auth_failures: checks in a row that ended in a credential failure (CREDENTIAL_FAILURES); 0 once
//   a login goes through or the credentials are saved anew.
// - auth_backoff_code: the latest credential failure of the backoff (shown next to nextDueAt), or NULL.
// Written only by fenced result writes (lease token, edit version) and by saves, like next_due_at.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_account', (t) => {
    t.integer('auth_failures').notNullable().defaultTo(0);
    t.string('auth_backoff_code', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_account', (t) => {
    t.dropColumn('auth_backoff_code');
    t.dropColumn('auth_failures');
  });
}
