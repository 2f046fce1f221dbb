import type { Knex } from 'knex';

// OAuth2 refresh settings of a service_auth side (auth_type 'oauth2'). The access token itself lives
// in `password`, encrypted like any password. All columns are NULL for sides without refresh settings.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('service_auth', (t) => {
    t.text('oauth_token_url').nullable();
    t.string('oauth_client_id', 512).nullable();
    /** Encrypted (aad service_auth:<id>:oauth_client_secret); NULL for a public client. */
    t.text('oauth_client_secret').nullable();
    /** Encrypted (aad service_auth:<id>:oauth_refresh_token). */
    t.text('oauth_refresh_token').nullable();
    t.text('oauth_scope').nullable();
    /** When the stored access token expires, epoch ms; NULL = unknown. */
    t.bigInteger('oauth_access_expires_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('service_auth', (t) => {
    t.dropColumns(
      'oauth_token_url',
      'oauth_client_id',
      'oauth_client_secret',
      'oauth_refresh_token',
      'oauth_scope',
      'oauth_access_expires_at',
    );
  });
}
