import type { Knex } from 'knex';

// App-only OAuth2 (issue 11): a side's grant, the key that signs its assertions and what is known
// about its credential's expiry. Sides saved before keep the refresh_token grant.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('service_auth', (t) => {
    /** refresh_token, client_credentials or jwt_bearer; NULL = refresh_token. */
    t.string('oauth_grant', 32).nullable();
    /** Encrypted (aad service_auth:<id>:oauth_private_key): a certificate's or service account's key (PEM). */
    t.text('oauth_private_key').nullable();
    /** x5t of the client certificate (base64url SHA-1, 27 characters). */
    t.string('oauth_cert_thumbprint', 64).nullable();
    /** A certificate's notAfter or a client secret's configured expiry, epoch ms; NULL = unknown. */
    t.bigInteger('oauth_credential_expires_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('service_auth', (t) => {
    t.dropColumns('oauth_grant', 'oauth_private_key', 'oauth_cert_thumbprint', 'oauth_credential_expires_at');
  });
}
