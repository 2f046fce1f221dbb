// Key maintenance covers the OAuth2 secrets too: `keys rotate` re-encrypts the client secret and
// refresh token (not only the password), `keys check` decrypts and names them, and the start-up
// guard notices a key id that only an OAuth2 secret still uses.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceAuthInput } from '../../src/accounts/repository.js';
import { createKeyring, type KeyEntry, type Keyring } from '../../src/crypto/keyring.js';
import { checkSecrets, rotateSecrets } from '../../src/crypto/rotate.js';
import { assertKeyringCoversStored, storedKeyUsage } from '../../src/crypto/stored-secrets.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { secretAad } from '../../src/db/account-rows.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { describeWithPeer } from '../peers/require.js';

const keyA: KeyEntry = { id: 'A', key: randomBytes(32) };
const keyB: KeyEntry = { id: 'B', key: randomBytes(32) };
const onlyA = createKeyring([keyA], 'A');
const bThenA = createKeyring([keyB, keyA], 'B');
const onlyB = createKeyring([keyB], 'B');

const side = (tag: string, clientSecret: string | null): ServiceAuthInput => ({
  server: 'outlook.office365.com',
  port: 993,
  authType: 'oauth2',
  username: 'erin@example.test',
  password: `at-${tag}`,
  security: 'tls',
  acceptUnverifiedCert: false,
  caPem: null,
  oauth: {
    tokenUrl: 'https://login.example.test/token',
    clientId: 'client-1',
    clientSecret,
    refreshToken: `rt-${tag}`,
    scope: null,
  },
});

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer ? describeWithPeer(dialect.peer, name, fn) : describe(name, fn);

  suite(`key maintenance of OAuth2 secrets on ${dialect.name}`, () => {
    let t: TestDb;
    beforeEach(async () => {
      t = await dialect.open();
    });
    afterEach(() => t?.cleanup());

    /** One account: IMAP with a client secret, SMTP a public client. 2 passwords + 1 + 2 OAuth secrets. */
    const seed = (keyring: Keyring) =>
      new KnexAccountRepository(t.db.knex, keyring).saveAccounts([
        {
          emailAddress: 'erin@example.test',
          associateId: 1,
          incoming: side('in', 'cs-in'),
          outgoing: side('out', null),
        },
      ]);
    const secrets = async (keyring: Keyring, id: number) => {
      const account = await new KnexAccountRepository(t.db.knex, keyring).getAccountWithSecrets(id);
      return [account?.incoming, account?.outgoing].map((a) => [
        a?.password,
        a?.oauth?.clientSecret,
        a?.oauth?.refreshToken,
      ]);
    };

    it('rotation moves every secret column to the new key; the old key is then not needed', async () => {
      const [id] = (await seed(onlyA)) as [number];
      expect((await storedKeyUsage(t.db.knex)).byKey).toMatchObject([{ keyId: 'A', rows: 5 }]);
      expect(await checkSecrets(t.db.knex, bThenA)).toMatchObject({
        total: 5,
        ok: 5,
        needRotation: 5,
        failures: [],
      });

      const summary = await rotateSecrets(t.db.knex, bThenA, { batchSize: 1 });
      expect(summary).toMatchObject({ pending: 5, rotated: 5, failed: [], remaining: 0 });
      expect((await storedKeyUsage(t.db.knex)).byKey).toMatchObject([{ keyId: 'B', rows: 5 }]);
      expect(await secrets(onlyB, id)).toEqual([
        ['at-in', 'cs-in', 'rt-in'],
        ['at-out', null, 'rt-out'],
      ]);
      expect(await rotateSecrets(t.db.knex, bThenA)).toMatchObject({ pending: 0, rotated: 0 });
    });

    it('check names a broken OAuth secret by row and column, without its value', async () => {
      await seed(bThenA);
      const [row] = await t.db.knex('service_auth').select().orderBy('service_auth_id');
      // The client secret's ciphertext copied into the refresh token column: bound elsewhere, so refused.
      await t.db
        .knex('service_auth')
        .where('service_auth_id', row.service_auth_id)
        .update({ oauth_refresh_token: row.oauth_client_secret });
      const result = await checkSecrets(t.db.knex, bThenA);
      expect(result.failures).toEqual([
        { serviceAuthId: row.service_auth_id, keyId: 'B', code: 'tampered', column: 'oauth_refresh_token' },
      ]);
      expect(JSON.stringify(result)).not.toContain('rt-in');
      expect(() =>
        bThenA.decrypt(row.oauth_client_secret, secretAad(row.service_auth_id, 'oauth_client_secret')),
      ).not.toThrow();
    });

    it('the start-up guard notices a key id only an OAuth secret still uses', async () => {
      const [id] = (await seed(onlyB)) as [number];
      const [row] = await t.db.knex('service_auth').select().orderBy('service_auth_id');
      // A refresh token written long ago under A, never rotated.
      await t.db
        .knex('service_auth')
        .where('service_auth_id', row.service_auth_id)
        .update({
          oauth_refresh_token: onlyA.encrypt('rt-old', secretAad(row.service_auth_id, 'oauth_refresh_token')),
        });
      const usage = await storedKeyUsage(t.db.knex);
      expect(usage.byKey.map((k) => [k.keyId, k.rows])).toEqual([
        ['B', 4],
        ['A', 1],
      ]);
      await expect(assertKeyringCoversStored(t.db.knex, onlyB, usage, 'the key file')).rejects.toThrow(
        /^1 stored secret\(s\) are encrypted under key id\(s\) "A" \(1 row\)/,
      );
      await expect(
        assertKeyringCoversStored(t.db.knex, bThenA, usage, 'the key file'),
      ).resolves.toBeUndefined();
      expect((await secrets(bThenA, id))[0]).toEqual(['at-in', 'cs-in', 'rt-old']);
    });
  });
}
