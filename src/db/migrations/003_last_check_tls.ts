import type { Knex } from 'knex';

// The certificate expiry seen at a side's last check, as its own column so that a restart can
// restore the certificate-expiry metrics without parsing every stored transcript.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('last_check', (t) => {
    t.bigInteger('tls_not_after').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('last_check', (t) => {
    t.dropColumn('tls_not_after');
  });
}
