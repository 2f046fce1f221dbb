// OAuth2 settings in storage: the SuperOffice import's "OAuth" extension object round-trips with every
// secret masked, secrets are encrypted and bound to their row and column, a stored refresh token is
// never redirected to another token endpoint, and the refreshed-token store is a compare-and-set.
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportError, importAccounts, parseImport } from '../../src/accounts/import.js';
import { toEMailAccountJson } from '../../src/accounts/superoffice-mapping.js';
import type { EmailAccount } from '../../src/accounts/types.js';
import { sqlitePath } from '../../src/db/connection.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { secretAad } from '../../src/db/account-rows.js';
import type { SecretCodec } from '../../src/crypto/types.js';
import { maskEMailAccount, parseEMailAccount } from '../../src/accounts/superoffice-schema.js';
import { assertNoCanary, makeCanary } from '../helpers/canary.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { testKeyring } from '../helpers/keyring.js';
import { describeWithPeer } from '../peers/require.js';

const TOKEN_URL = 'https://login.example.test/tenant/oauth2/v2.0/token';

/** A codec that can run a (synchronous) action right after a refresh token is decrypted. */
class HookedCodec implements SecretCodec {
  afterRefreshTokenRead: (() => void) | undefined;
  constructor(private readonly inner: SecretCodec) {}
  encrypt(plaintext: string, aad: string): string {
    return this.inner.encrypt(plaintext, aad);
  }
  decrypt(stored: string, aad: string): string {
    const value = this.inner.decrypt(stored, aad);
    const hook = this.afterRefreshTokenRead;
    if (hook && aad.endsWith(':oauth_refresh_token')) {
      this.afterRefreshTokenRead = undefined;
      hook();
    }
    return value;
  }
  needsRotation(stored: string): boolean {
    return this.inner.needsRotation(stored);
  }
}

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer ? describeWithPeer(dialect.peer, name, fn) : describe(name, fn);

  suite(`OAuth2 settings in storage on ${dialect.name}`, () => {
    const C = {
      clientSecret: makeCanary('client-secret'),
      imapRefresh: makeCanary('imap-refresh'),
      smtpRefresh: makeCanary('smtp-refresh'),
      smtpAccess: makeCanary('smtp-access'),
    };
    const canaries = Object.values(C);
    const keyring = testKeyring();
    const codec = new HookedCodec(keyring);
    let t: TestDb;
    let repo: KnexAccountRepository;
    let id: number;

    beforeAll(async () => {
      t = await dialect.open();
      repo = new KnexAccountRepository(t.db.knex, codec);
    });
    afterAll(() => t?.cleanup());

    const entry = () => ({
      EMailAddress: 'erin@example.test',
      IncomingCredentials: {
        Server: 'outlook.office365.com',
        Port: 993,
        AuthType: 'OAuth',
        Username: 'erin@example.test',
        Password: '',
        OAuth: {
          TokenUrl: TOKEN_URL,
          ClientId: 'client-1',
          ClientSecret: C.clientSecret.secret,
          RefreshToken: C.imapRefresh.secret,
          Scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access',
        },
      },
      // Keys in any case, as SuperOffice's binder accepts them; a public client (no secret).
      OutgoingCredentials: {
        server: 'smtp.office365.com',
        port: 587,
        authType: 'XOAUTH2',
        username: 'erin@example.test',
        password: C.smtpAccess.secret,
        oauth: { tokenurl: TOKEN_URL, clientid: 'client-1', refreshtoken: C.smtpRefresh.secret },
      },
    });
    const authRows = async () =>
      (await t.db.knex('service_auth').select().orderBy('service_auth_id')) as Record<string, string>[];
    const secretsOf = (account: EmailAccount | null) => [account?.incoming, account?.outgoing];

    it('import stores every OAuth secret encrypted, bound to its row and column', async () => {
      [id] = (await importAccounts(repo, parseImport(JSON.stringify([entry()])))) as [number];
      const rows = await authRows();
      assertNoCanary(JSON.stringify(rows), canaries, 'service_auth rows');
      const [imap, smtp] = rows as [Record<string, string>, Record<string, string>];
      const aad = (row: Record<string, string>, column: 'oauth_client_secret' | 'oauth_refresh_token') =>
        secretAad(Number(row.service_auth_id), column);
      expect(keyring.decrypt(imap.oauth_client_secret!, aad(imap, 'oauth_client_secret'))).toBe(
        C.clientSecret.secret,
      );
      expect(keyring.decrypt(imap.oauth_refresh_token!, aad(imap, 'oauth_refresh_token'))).toBe(
        C.imapRefresh.secret,
      );
      // Moved to another column or row, a ciphertext does not decrypt.
      expect(() => keyring.decrypt(imap.oauth_refresh_token!, aad(imap, 'oauth_client_secret'))).toThrow();
      expect(() => keyring.decrypt(imap.oauth_refresh_token!, aad(smtp, 'oauth_refresh_token'))).toThrow();
      expect(smtp.oauth_client_secret).toBeNull();

      const stored = await repo.getAccountWithSecrets(id);
      expect(stored?.incoming).toMatchObject({
        authType: 'oauth2',
        password: '',
        oauth: {
          tokenUrl: TOKEN_URL,
          clientId: 'client-1',
          clientSecret: C.clientSecret.secret,
          refreshToken: C.imapRefresh.secret,
          scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access',
          accessExpiresAt: null,
        },
      });
      expect(stored?.outgoing).toMatchObject({
        password: C.smtpAccess.secret,
        oauth: { clientSecret: null, refreshToken: C.smtpRefresh.secret, scope: null },
      });
      assertNoCanary(JSON.stringify(await repo.getAccount(id)), canaries, 'account read without secrets');
    });

    it('every output masks every OAuth secret, and re-importing the output keeps them', async () => {
      const json = toEMailAccountJson((await repo.getAccount(id))!);
      expect(json.IncomingCredentials?.OAuth).toEqual({
        Grant: 'refresh_token',
        TokenUrl: TOKEN_URL,
        ClientId: 'client-1',
        ClientSecret: '****',
        RefreshToken: '****',
        Scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access',
      });
      expect(json.OutgoingCredentials?.OAuth).toMatchObject({ ClientSecret: '', RefreshToken: '****' });
      assertNoCanary(JSON.stringify(json), canaries, 'EMailAccount JSON');
      // What SaveEMailAccount answers (REST and SOAP) for the request as sent.
      const parsed = parseEMailAccount(entry());
      expect(parsed.ok).toBe(true);
      if (parsed.ok)
        assertNoCanary(JSON.stringify(maskEMailAccount(parsed.account)), canaries, 'masked request');

      const before = await repo.getAccountWithSecrets(id);
      await importAccounts(repo, parseImport(JSON.stringify([json])));
      expect(secretsOf(await repo.getAccountWithSecrets(id))).toEqual(secretsOf(before));
    });

    it('a kept secret may not follow a changed TokenUrl or ClientId; given again, it may', async () => {
      const json = toEMailAccountJson((await repo.getAccount(id))!);
      const before = await authRows();
      for (const change of [{ TokenUrl: 'https://evil.example.test/token' }, { ClientId: 'client-2' }]) {
        const moved = {
          ...json,
          IncomingCredentials: {
            ...json.IncomingCredentials!,
            OAuth: { ...json.IncomingCredentials!.OAuth!, ...change },
          },
        };
        const attempt = importAccounts(repo, parseImport(JSON.stringify([moved])));
        await expect(attempt).rejects.toThrow(ImportError);
        await expect(attempt).rejects.toThrow(
          /IncomingCredentials\.OAuth\.RefreshToken: is required when TokenUrl or ClientId changes/,
        );
      }
      expect(await authRows()).toEqual(before);

      const fresh = makeCanary('fresh-refresh');
      const moved = {
        ...json,
        IncomingCredentials: {
          ...json.IncomingCredentials!,
          OAuth: {
            ...json.IncomingCredentials!.OAuth!,
            TokenUrl: `${TOKEN_URL}2`,
            ClientSecret: '',
            RefreshToken: fresh.secret,
          },
        },
      };
      await importAccounts(repo, parseImport(JSON.stringify([moved])));
      expect((await repo.getAccountWithSecrets(id))?.incoming?.oauth).toMatchObject({
        tokenUrl: `${TOKEN_URL}2`,
        clientSecret: null,
        refreshToken: fresh.secret,
      });
    });

    it('validation names the field; a password side drops its OAuth settings', async () => {
      const problems = async (entries: unknown[]) => {
        try {
          await importAccounts(repo, parseImport(JSON.stringify(entries)));
        } catch (error) {
          if (error instanceof ImportError) return error.problems.map((p) => p.field);
        }
        return [];
      };
      const base = entry();
      const withOAuth = (oauth: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
        ...base,
        IncomingCredentials: {
          ...base.IncomingCredentials,
          ...extra,
          OAuth: { ...base.IncomingCredentials.OAuth, ...oauth },
        },
      });
      expect(await problems([withOAuth({ RefreshToken: '' })])).toEqual([
        'IncomingCredentials.OAuth.RefreshToken',
      ]);
      expect(await problems([withOAuth({ TokenUrl: 'http://login.example.test/token' })])).toEqual([
        'IncomingCredentials.OAuth.TokenUrl',
      ]);
      expect(await problems([withOAuth({}, { AuthType: 'plain-text', Password: 'pw' })])).toEqual([
        'IncomingCredentials.OAuth',
      ]);
      const noPassword = { ...base, IncomingCredentials: { ...base.IncomingCredentials, OAuth: undefined } };
      expect(await problems([noPassword])).toEqual(['IncomingCredentials.Password']);

      const json = toEMailAccountJson((await repo.getAccount(id))!);
      const { OAuth: _dropped, ...incoming } = json.IncomingCredentials!;
      await importAccounts(
        repo,
        parseImport(
          JSON.stringify([
            { ...json, IncomingCredentials: { ...incoming, AuthType: 'plain-text', Password: 'pw-1' } },
          ]),
        ),
      );
      const [row] = await authRows();
      expect(row).toMatchObject({
        auth_type: 'password',
        oauth_token_url: null,
        oauth_refresh_token: null,
        oauth_client_secret: null,
      });
      expect((await repo.getAccount(id))?.incoming?.oauth).toBeNull();
    });

    it('storeOAuthToken writes only over the token it refreshed; a hand-given token resets the expiry', async () => {
      const smtpId = (await repo.getAccount(id))!.outgoing!.serviceAuthId;
      const rotated = makeCanary('rotated');
      const stale = { accessToken: 'not-the-stored-one', refreshToken: C.smtpRefresh.secret };
      const update = {
        accessToken: 'at-new',
        expiresAt: new Date(2_000_000_000_000),
        refreshToken: rotated.secret,
      };
      expect(await repo.storeOAuthToken(smtpId, { previous: stale, ...update })).toBe(false);
      expect((await repo.getAccountWithSecrets(id))?.outgoing?.password).toBe(C.smtpAccess.secret);

      const previous = { accessToken: C.smtpAccess.secret, refreshToken: C.smtpRefresh.secret };
      expect(await repo.storeOAuthToken(smtpId, { previous, ...update })).toBe(true);
      const stored = (await repo.getAccountWithSecrets(id))?.outgoing;
      expect(stored).toMatchObject({
        password: 'at-new',
        oauth: { refreshToken: rotated.secret, accessExpiresAt: update.expiresAt },
      });

      const json = toEMailAccountJson((await repo.getAccount(id))!);
      await importAccounts(
        repo,
        parseImport(
          JSON.stringify([
            { ...json, OutgoingCredentials: { ...json.OutgoingCredentials!, Password: 'at-by-hand' } },
          ]),
        ),
      );
      expect((await repo.getAccountWithSecrets(id))?.outgoing).toMatchObject({
        password: 'at-by-hand',
        oauth: { refreshToken: rotated.secret, accessExpiresAt: null },
      });
    });

    if (dialect.name !== 'sqlite') return;

    // Another writer between storeOAuthToken's read and its write: on SQLite a second connection can
    // write synchronously from inside the codec, exactly in that gap.
    const writeBetween = (serviceAuthId: number, refreshToken: string) => {
      codec.afterRefreshTokenRead = () => {
        const other = new Sqlite(sqlitePath(t.url));
        try {
          other
            .prepare('UPDATE service_auth SET oauth_refresh_token = ? WHERE service_auth_id = ?')
            .run(
              keyring.encrypt(refreshToken, secretAad(serviceAuthId, 'oauth_refresh_token')),
              serviceAuthId,
            );
        } finally {
          other.close();
        }
      };
    };

    it('a newer refresh token stored between read and write is kept (compare-and-set on the ciphertext)', async () => {
      const smtp = (await repo.getAccountWithSecrets(id))!.outgoing!;
      const previous = { accessToken: smtp.password, refreshToken: smtp.oauth!.refreshToken };
      writeBetween(smtp.serviceAuthId, 'rt-saved-meanwhile');
      expect(
        await repo.storeOAuthToken(smtp.serviceAuthId, {
          previous,
          accessToken: 'at-x',
          expiresAt: null,
          refreshToken: 'rt-x',
        }),
      ).toBe(false);
      expect((await repo.getAccountWithSecrets(id))?.outgoing).toMatchObject({
        password: smtp.password,
        oauth: { refreshToken: 'rt-saved-meanwhile' },
      });
    });

    it('a re-encryption of the same token between read and write (keys rotate) is retried and stored', async () => {
      const smtp = (await repo.getAccountWithSecrets(id))!.outgoing!;
      const previous = { accessToken: smtp.password, refreshToken: smtp.oauth!.refreshToken };
      writeBetween(smtp.serviceAuthId, smtp.oauth!.refreshToken);
      expect(
        await repo.storeOAuthToken(smtp.serviceAuthId, {
          previous,
          accessToken: 'at-y',
          expiresAt: null,
          refreshToken: 'rt-y',
        }),
      ).toBe(true);
      expect((await repo.getAccountWithSecrets(id))?.outgoing).toMatchObject({
        password: 'at-y',
        oauth: { refreshToken: 'rt-y' },
      });
    });
  });
}
