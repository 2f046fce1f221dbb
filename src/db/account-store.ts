import type { Knex } from 'knex';
import { AccountNotFoundError } from '../accounts/errors.js';
import type {
  AccountInput,
  AccountRepository,
  CheckRecord,
  HistoryEntry,
  OAuthTokenUpdate,
  RecordedCheck,
  ServiceAuthInput,
  SideCheck,
  StoredAccount,
} from '../accounts/repository.js';
import type { AccountListQuery } from '../accounts/overview.js';
import { AccountStatus, type EmailAccount } from '../accounts/types.js';
import type { SecretCodec } from '../crypto/types.js';
import type { FailureCode } from '../probes/errors.js';
import type { Protocol } from '../probes/types.js';
import {
  ALL_STATUSES,
  oauthColumns,
  passwordAad,
  secretAad,
  toEmailAccount,
  toServiceAuth,
  type EmailAccountRow,
  type ServiceAuthRow,
} from './account-rows.js';
import { bytesEqual } from './connection.js';
import { history, lastChecks, pruneHistory, recordCheck } from './check-store.js';
import { listAccountSummaries } from './overview-store.js';

const ACCOUNT = 'email_account';
const AUTH = 'service_auth';
const SIDES = [
  { input: 'incoming', protocol: 'imap' },
  { input: 'outgoing', protocol: 'smtp' },
] as const satisfies readonly { input: keyof AccountInput; protocol: Protocol }[];

/** AccountRepository on knex (SQLite or MySQL/MariaDB). Passwords are encrypted with `codec`. */
export class KnexAccountRepository implements AccountRepository {
  constructor(
    private readonly knex: Knex,
    private readonly codec: SecretCodec,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async saveAccounts(inputs: readonly AccountInput[]): Promise<number[]> {
    return this.saveChecked(
      inputs.map((input) => input.emailAccountId ?? 0),
      () => inputs.slice(),
    );
  }

  async saveChecked(
    ids: readonly number[],
    settle: (stored: readonly (StoredAccount | null)[]) => AccountInput[],
  ): Promise<number[]> {
    return this.knex.transaction(async (trx) => {
      const now = this.clock().getTime();
      // Locked in ascending id order, so two batches never wait for each other in a cycle.
      const locked = new Map<number, StoredAccount | null>();
      for (const id of [...new Set(ids)].filter((id) => id !== 0).sort((a, b) => a - b))
        locked.set(id, await this.lockForSave(trx, id, now));
      const inputs = settle(ids.map((id) => locked.get(id) ?? null));
      const saved: number[] = [];
      for (const input of inputs) saved.push(await this.saveOne(trx, input));
      return saved;
    });
  }

  /**
   * Takes the account's write lock (touching its row: SQLite's database lock, InnoDB's row lock) and
   * reads it as the save rules see it; null when there is no such row.
   */
  private async lockForSave(trx: Knex.Transaction, id: number, now: number): Promise<StoredAccount | null> {
    const touched = await trx(ACCOUNT).where('email_account_id', id).update({ updated: now });
    if (touched === 0) return null;
    const account = await this.loadAccount(trx, id, false);
    if (account === null) return null;
    const authIds = [account.incoming, account.outgoing].flatMap((a) => (a ? [a.serviceAuthId] : []));
    const passwords = new Map(
      (
        await trx<ServiceAuthRow>(AUTH)
          .whereIn('service_auth_id', authIds)
          .select('service_auth_id', 'password')
      ).map((row) => [row.service_auth_id, row.password]),
    );
    return {
      account,
      // Decrypted only when a rule asks, and only to compare with '': the value never leaves here.
      hasPassword: (side) => {
        const authId = account[side]?.serviceAuthId;
        const stored = authId === undefined ? undefined : passwords.get(authId);
        return stored !== undefined && this.codec.decrypt(stored, passwordAad(authId!)) !== '';
      },
      samePassword: (side, candidate) => {
        const authId = account[side]?.serviceAuthId;
        const stored = authId === undefined ? undefined : passwords.get(authId);
        return stored !== undefined && this.codec.decrypt(stored, passwordAad(authId!)) === candidate;
      },
    };
  }

  /** The one place a save writes an account's row (and its sides' rows). */
  private async saveOne(trx: Knex.Transaction, input: AccountInput): Promise<number> {
    const now = this.clock().getTime();
    const id = input.emailAccountId ?? 0;
    const fields = {
      email_address: input.emailAddress,
      associate_id: input.associateId,
      updated: now,
      ...(input.delivery ? { delivery_check: input.delivery.enabled, delivery_to: input.delivery.to } : {}),
    };
    if (id === 0) {
      const incoming = input.incoming ? await this.insertAuth(trx, input.incoming, now) : null;
      const outgoing = input.outgoing ? await this.insertAuth(trx, input.outgoing, now) : null;
      const [newId] = await trx(ACCOUNT).insert({
        ...fields,
        incoming_auth: incoming,
        outgoing_auth: outgoing,
        account_status: AccountStatus.Unknown,
        error_count: 0,
        error_reason: '',
        registered: now,
        next_due_at: now,
      });
      return Number(newId);
    }
    // Write first, read after: the touch takes the write lock (SQLite's database lock, InnoDB's row
    // lock) so no other process can commit between our read and our write (SQLite would answer
    // SQLITE_BUSY to a read transaction that tries to become a writer after someone else wrote).
    // The edit version fences out the write of a check that is running on the old credentials.
    const touched = await trx(ACCOUNT)
      .where('email_account_id', id)
      .update({ updated: now, edit_version: trx.raw('edit_version + 1') });
    if (touched === 0) throw new AccountNotFoundError(id);
    const row = (await trx<EmailAccountRow>(ACCOUNT)
      .where('email_account_id', id)
      .first()) as EmailAccountRow;
    const incoming = await this.replaceAuth(trx, row.incoming_auth, input.incoming, now);
    const outgoing = await this.replaceAuth(trx, row.outgoing_auth, input.outgoing, now);
    // Changed credentials are worth testing now, not an interval later: due at once, and a claim on
    // the old credentials is void (its write is fenced out by the edit version anyway).
    await trx(ACCOUNT)
      .where('email_account_id', id)
      .update({
        ...fields,
        incoming_auth: incoming,
        outgoing_auth: outgoing,
        // New credentials reset the backoff after credential failures (migration 007); the same
        // ones sent again keep it, and its due time: re-saving a stale password must not retry it.
        ...(input.credentialsChanged === false && Number(row.auth_failures ?? 0) > 0
          ? {}
          : {
              auth_failures: 0,
              auth_backoff_code: null,
              ...(row.account_status === AccountStatus.Deleted ? {} : { next_due_at: now }),
            }),
        lease_owner: null,
        lease_token: null,
      });
    for (const old of [row.incoming_auth, row.outgoing_auth]) {
      if (old !== null && old !== incoming && old !== outgoing)
        await trx(AUTH).where('service_auth_id', old).del();
    }
    // A side no longer tested has no last result: left behind, a restart would restore its metrics
    // (a failing side that no longer exists, a certificate of a server nobody checks). History stays.
    const removed = SIDES.filter((side) => input[side.input] === null).map((side) => side.protocol);
    if (removed.length > 0)
      await trx('last_check').where('email_account_id', id).whereIn('side', removed).del();
    return id;
  }

  private async insertAuth(trx: Knex.Transaction, auth: ServiceAuthInput, now: number): Promise<number> {
    // The save rules refuse this first (a new side's password is required): reaching it is a bug.
    if (auth.password === undefined) throw new Error('a new side has no password to keep');
    // The ciphertext is bound to its row id, so the row is created first and the secret written after.
    const [rawId] = await trx(AUTH).insert({
      ...authColumns(auth),
      password: '',
      registered: now,
      updated: now,
    });
    const id = Number(rawId);
    await trx(AUTH)
      .where('service_auth_id', id)
      .update({
        password: this.codec.encrypt(auth.password, passwordAad(id)),
        ...oauthColumns(auth, id, this.encrypt),
      });
    return id;
  }

  private async replaceAuth(
    trx: Knex.Transaction,
    existingId: number | null,
    auth: ServiceAuthInput | null,
    now: number,
  ): Promise<number | null> {
    if (auth === null) return null;
    if (existingId === null) return this.insertAuth(trx, auth, now);
    const update: Record<string, unknown> = {
      ...authColumns(auth),
      ...oauthColumns(auth, existingId, this.encrypt),
      updated: now,
    };
    if (auth.password !== undefined) {
      update.password = this.codec.encrypt(auth.password, passwordAad(existingId));
      update.oauth_access_expires_at = null; // a token given by hand: its expiry is unknown
    }
    await trx(AUTH).where('service_auth_id', existingId).update(update);
    return existingId;
  }

  private readonly encrypt = (plaintext: string, aad: string): string => this.codec.encrypt(plaintext, aad);

  getAccount(id: number): Promise<EmailAccount | null> {
    return this.loadAccount(this.knex, id, false);
  }

  getAccountWithSecrets(id: number): Promise<EmailAccount | null> {
    return this.loadAccount(this.knex, id, true);
  }

  private async loadAccount(db: Knex, id: number, withSecrets: boolean): Promise<EmailAccount | null> {
    const row = await db<EmailAccountRow>(ACCOUNT).where('email_account_id', id).first();
    if (row === undefined) return null;
    return (await this.hydrate(db, [row], withSecrets))[0] ?? null;
  }

  private async hydrate(db: Knex, rows: EmailAccountRow[], withSecrets: boolean): Promise<EmailAccount[]> {
    const authIds = rows
      .flatMap((r) => [r.incoming_auth, r.outgoing_auth])
      .filter((x): x is number => x !== null);
    const auths = new Map<number, ServiceAuthRow>();
    if (authIds.length > 0) {
      for (const a of await db<ServiceAuthRow>(AUTH).whereIn('service_auth_id', authIds))
        auths.set(a.service_auth_id, a);
    }
    const side = (authId: number | null) => {
      const auth = authId === null ? undefined : auths.get(authId);
      if (auth === undefined) return null;
      return toServiceAuth(auth, (column) =>
        withSecrets ? this.codec.decrypt(auth[column] ?? '', secretAad(auth.service_auth_id, column)) : '',
      );
    };
    return rows.map((r) => toEmailAccount(r, side(r.incoming_auth), side(r.outgoing_auth)));
  }

  async listAccounts(
    filter: { status?: AccountStatus; excludeDeleted?: boolean; limit?: number; offset?: number } = {},
  ) {
    const base = () => {
      const q = this.knex<EmailAccountRow>(ACCOUNT);
      if (filter.status !== undefined) return q.where('account_status', filter.status);
      return filter.excludeDeleted ? q.whereNot('account_status', AccountStatus.Deleted) : q;
    };
    const [{ total }] = (await base().count({ total: '*' })) as [{ total: number | string }];
    const rows = await base()
      .orderBy('email_account_id')
      .limit(filter.limit ?? 1000)
      .offset(filter.offset ?? 0);
    return { items: await this.hydrate(this.knex, rows, false), total: Number(total) };
  }

  async markDeleted(id: number): Promise<boolean> {
    return (await this.markDeletedFrom(id)) !== null;
  }

  async markDeletedFrom(id: number): Promise<AccountStatus | null> {
    const now = this.clock().getTime();
    return this.knex.transaction(async (trx) => {
      // Lock first (as recordCheck does), so the status read is the one the deletion replaces.
      const changed = await trx(ACCOUNT)
        .where('email_account_id', id)
        .update({ updated: now, edit_version: trx.raw('edit_version + 1') });
      if (changed === 0) return null;
      const row = (await trx<EmailAccountRow>(ACCOUNT)
        .select('account_status')
        .where('email_account_id', id)
        .forUpdate()
        .first()) as Pick<EmailAccountRow, 'account_status'>;
      await trx(ACCOUNT).where('email_account_id', id).update({
        account_status: AccountStatus.Deleted,
        next_due_at: null,
        lease_owner: null,
        lease_token: null,
      });
      return row.account_status as AccountStatus;
    });
  }

  async listDueAccountIds(now: Date, limit = 100_000): Promise<number[]> {
    const rows = await this.knex<EmailAccountRow>(ACCOUNT)
      .select('email_account_id')
      .whereNot('account_status', AccountStatus.Deleted)
      .where((q) => q.whereNull('next_due_at').orWhere('next_due_at', '<=', now.getTime()))
      .orderBy([{ column: 'next_due_at', order: 'asc' }, 'email_account_id'])
      .limit(limit);
    return rows.map((r) => r.email_account_id);
  }

  async listActiveAccountIds(): Promise<number[]> {
    const rows = await this.knex<EmailAccountRow>(ACCOUNT)
      .select('email_account_id')
      .whereNot('account_status', AccountStatus.Deleted)
      .orderBy('email_account_id');
    return rows.map((r) => r.email_account_id);
  }

  recordCheck(id: number, record: CheckRecord, failedThreshold: number): Promise<RecordedCheck | null> {
    return recordCheck(this.knex, id, record, failedThreshold);
  }

  lastChecks(id: number): Promise<SideCheck[]> {
    return lastChecks(this.knex, id);
  }

  history(id: number, options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    return history(this.knex, id, options);
  }

  pruneHistory(olderThan: Date, batch?: number): Promise<number> {
    return pruneHistory(this.knex, olderThan, batch);
  }

  async statusCounts(): Promise<Record<AccountStatus, number>> {
    const rows = (await this.knex(ACCOUNT)
      .select('account_status')
      .count({ n: '*' })
      .groupBy('account_status')) as {
      account_status: number;
      n: number | string;
    }[];
    const counts = Object.fromEntries(ALL_STATUSES.map((s) => [s, 0])) as Record<AccountStatus, number>;
    for (const r of rows) counts[r.account_status as AccountStatus] = Number(r.n);
    return counts;
  }

  async backingOffCounts(): Promise<Partial<Record<FailureCode, number>>> {
    const rows = (await this.knex(ACCOUNT)
      .select('auth_backoff_code')
      .count({ n: '*' })
      .where('auth_failures', '>', 0)
      .whereNot('account_status', AccountStatus.Deleted)
      .groupBy('auth_backoff_code')) as { auth_backoff_code: string | null; n: number | string }[];
    const counts: Partial<Record<FailureCode, number>> = {};
    for (const r of rows) {
      const code = (r.auth_backoff_code ?? 'auth_rejected') as FailureCode;
      counts[code] = (counts[code] ?? 0) + Number(r.n);
    }
    return counts;
  }

  async findStoredPassword(
    side: Protocol,
    server: string,
    port: number,
    username: string,
  ): Promise<string | null> {
    const column = side === 'imap' ? 'incoming_auth' : 'outgoing_auth';
    const row = await this.knex<ServiceAuthRow>(`${AUTH} as a`)
      .join(`${ACCOUNT} as e`, `e.${column}`, 'a.service_auth_id')
      .whereNot('e.account_status', AccountStatus.Deleted)
      .where({ 'a.server': server, 'a.port': port, 'a.username': username })
      .select('a.service_auth_id', 'a.password')
      .orderBy('a.service_auth_id')
      .first();
    return row === undefined ? null : this.codec.decrypt(row.password, passwordAad(row.service_auth_id));
  }

  async storeOAuthToken(serviceAuthId: number, update: OAuthTokenUpdate): Promise<boolean> {
    const aad = (column: 'password' | 'oauth_refresh_token') => secretAad(serviceAuthId, column);
    // A conflict on an unchanged clear text means the ciphertext changed under us (`keys rotate`
    // re-encrypted the row): look again. A changed clear text means a newer token: keep it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await this.knex<ServiceAuthRow>(AUTH).where('service_auth_id', serviceAuthId).first();
      if (row?.oauth_refresh_token == null) return false;
      if (
        this.codec.decrypt(row.password, aad('password')) !== update.previous.accessToken ||
        this.codec.decrypt(row.oauth_refresh_token, aad('oauth_refresh_token')) !==
          update.previous.refreshToken
      )
        return false;
      // One statement: the new access token, its expiry and the rotated refresh token land together or not at all.
      const changed = await this.knex(AUTH)
        .where('service_auth_id', serviceAuthId)
        .whereRaw(bytesEqual(this.knex, 'password'), [row.password])
        .whereRaw(bytesEqual(this.knex, 'oauth_refresh_token'), [row.oauth_refresh_token])
        .update({
          password: this.codec.encrypt(update.accessToken, aad('password')),
          oauth_access_expires_at: update.expiresAt?.getTime() ?? null,
          ...(update.refreshToken === undefined
            ? {}
            : { oauth_refresh_token: this.codec.encrypt(update.refreshToken, aad('oauth_refresh_token')) }),
          updated: this.clock().getTime(),
        });
      if (changed === 1) return true;
    }
    return false;
  }

  listAccountSummaries(query: AccountListQuery) {
    return listAccountSummaries(this.knex, query);
  }
}

function authColumns(auth: ServiceAuthInput) {
  return {
    server: auth.server,
    port: auth.port,
    auth_type: auth.authType,
    username: auth.username,
    security: auth.security,
    accept_unverified_cert: auth.acceptUnverifiedCert,
    ca_pem: auth.caPem,
  };
}
