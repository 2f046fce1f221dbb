import type { FailureCode, Phase } from '../probes/errors.js';
import type {
  AuthType,
  DeliveryFacts,
  PhaseTiming,
  ProbeWarning,
  Protocol,
  QuotaFacts,
  Security,
  TlsFacts,
  TranscriptLine,
} from '../probes/types.js';
import type { AccountListQuery, AccountSummary } from './overview.js';
import type { CheckOutcome, StatusState } from './status.js';
import type { AccountStatus, AuthBackoff, DeliverySetting, EmailAccount, OAuthGrant } from './types.js';

/** One side's credentials as given on import or save. */
export interface ServiceAuthInput {
  server: string;
  port: number;
  authType: AuthType;
  username: string;
  /** Clear text; undefined keeps the stored value (updates only). */
  password: string | undefined;
  security: Security;
  acceptUnverifiedCert: boolean;
  /** Extra trusted CA (PEM); null = system CAs only. */
  caPem: string | null;
  /**
   * OAuth2 refresh settings ('oauth2' sides only; other auth types store none). undefined keeps the
   * stored ones (none on create); null removes them.
   */
  oauth?: OAuthInput | null;
}

export interface OAuthInput {
  /** Absent = 'refresh_token'. */
  grant?: OAuthGrant;
  tokenUrl: string;
  clientId: string;
  /** Clear text; undefined keeps the stored one; null = public client (or a key instead). */
  clientSecret: string | null | undefined;
  /** Clear text; undefined keeps the stored one (only while TokenUrl and ClientId stay the same). */
  refreshToken: string | undefined;
  scope: string | null;
  /** The assertion's signing key (PEM), app-only grants; undefined keeps the stored one; null = none. */
  privateKey?: string | null | undefined;
  /** x5t of the certificate the key belongs to (client_credentials); null = none. */
  certThumbprint?: string | null;
  /** A certificate's notAfter or a client secret's configured expiry; null = unknown. */
  credentialExpiresAt?: Date | null;
}

/** A refreshed access token to store in place of `previous` (see AccountRepository.storeOAuthToken). */
export interface OAuthTokenUpdate {
  previous: { accessToken: string; refreshToken: string };
  accessToken: string;
  expiresAt: Date | null;
  /** A rotated refresh token; undefined keeps the stored one. */
  refreshToken?: string;
}

export interface AccountInput {
  /** 0 or undefined creates; otherwise updates that account. */
  emailAccountId?: number;
  emailAddress: string;
  associateId: number;
  incoming: ServiceAuthInput | null;
  outgoing: ServiceAuthInput | null;
  /** The delivery round trip opt-in; undefined keeps the stored setting (off on create). */
  delivery?: DeliverySetting;
  /**
   * False when the save changes no credential (server, port, user, security, mechanism, secrets):
   * an account backing off after credential failures keeps its backoff and due time. Undefined
   * counts as changed (a save resets the backoff and makes the account due now).
   */
  credentialsChanged?: boolean;
}

/** An account's two sides, by the name of the field that holds them. */
export type SideName = 'incoming' | 'outgoing';

/** A stored account as the save rules see it: no secrets, but whether each side's password is empty. */
export interface StoredAccount {
  account: EmailAccount;
  /** False when the side's stored password (an oauth2 side's access token) is empty or absent. */
  hasPassword(side: SideName): boolean;
  /**
   * True when `candidate` is the side's stored password (an oauth2 side's access token): a save
   * that sends the same stale password again changes no credentials (the auth backoff stays).
   * Absent: every password given counts as new.
   */
  samePassword?(side: SideName, candidate: string): boolean;
}

/** One side's stored result, without secrets. */
export interface SideCheck {
  side: Protocol;
  checkedAt: Date;
  ok: boolean;
  code: FailureCode | null;
  phase: Phase | null;
  reason: string | null;
  durationMs: number;
  lastSuccessAt: Date | null;
  /** The certificate's notAfter seen at this check, when TLS was used. */
  tlsNotAfter: Date | null;
  details: {
    phases: PhaseTiming[];
    tls?: TlsFacts;
    transcript: TranscriptLine[];
    /** Mailbox health (issue 12), where the check read it. */
    quota?: QuotaFacts;
    delivery?: DeliveryFacts;
    warning?: ProbeWarning;
  } | null;
}

export type HistoryEntry = Omit<SideCheck, 'lastSuccessAt' | 'details' | 'tlsNotAfter'>;

/** What the leader exports about one account (db/account-view-store.ts; no transcripts). */
export interface AccountSnapshot {
  id: number;
  status: AccountStatus;
  errorCount: number;
  sides: SideCheck[];
  /** The server each side talks to (labels the certificate-expiry series). */
  endpoints: Partial<Record<Protocol, { host: string; port: number }>>;
}

export interface CheckRecord {
  checkedAt: Date;
  outcome: CheckOutcome;
  sides: Omit<SideCheck, 'lastSuccessAt' | 'tlsNotAfter'>[];
  nextDueAt: Date;
  /** The account's credential failures in a row after this check (migration 007); absent: unchanged. */
  authBackoff?: AuthBackoff;
  /**
   * The account's `updated` when the check loaded it. When set, the result is only applied while
   * the account is unchanged: a save during the check (new password, removed side) supersedes it.
   */
  loadedUpdated?: Date;
  /**
   * The claim the check ran under (db/sweep-store.ts). When set, the result is written only while
   * the account still holds this lease token and this edit version; the write ends the claim.
   */
  claim?: { token: string; editVersion: number };
}

export interface RecordedCheck {
  before: StatusState;
  after: StatusState;
}

/**
 * The storage seam: the domain talks to this, knex stays behind it. Methods that return
 * EmailAccount leave passwords empty unless their name says they read secrets.
 */
export interface AccountRepository {
  /**
   * Creates or updates all accounts in one transaction: all are stored or none. Returns the ids.
   * Stores the inputs as they are (undefined secrets keep the stored ones) and checks no rule: entry
   * points save through src/accounts/save.ts, which calls saveChecked.
   */
  saveAccounts(inputs: readonly AccountInput[]): Promise<number[]>;
  /**
   * The save service's transaction: takes the write lock on every account `ids` names (0 = a new
   * one; AccountNotFoundError when an id is gone by the write), reads them (null for 0 and for ids
   * with no row), lets `settle` turn them into the inputs to store (one per id, in order) and stores
   * those. Whatever `settle` throws rolls everything back and is rethrown.
   */
  saveChecked(
    ids: readonly number[],
    settle: (stored: readonly (StoredAccount | null)[]) => AccountInput[],
  ): Promise<number[]>;
  getAccount(id: number): Promise<EmailAccount | null>;
  getAccountWithSecrets(id: number): Promise<EmailAccount | null>;
  /** `excludeDeleted` leaves out Deleted accounts (ignored when `status` is given). */
  listAccounts(filter?: {
    status?: AccountStatus;
    excludeDeleted?: boolean;
    limit?: number;
    offset?: number;
  }): Promise<{
    items: EmailAccount[];
    total: number;
  }>;
  /** Sets AccountStatus Deleted; returns false when there is no such account. */
  markDeleted(id: number): Promise<boolean>;
  /** markDeleted, answering the status the deletion replaced (null: no such account). */
  markDeletedFrom(id: number): Promise<AccountStatus | null>;
  /** Non-deleted accounts whose next check is due at `now`, oldest due first. */
  listDueAccountIds(now: Date, limit?: number): Promise<number[]>;
  /** All non-deleted account ids. */
  listActiveAccountIds(): Promise<number[]>;
  /**
   * Applies a check's outcome atomically (nextStatus under the row lock), writes history and the
   * last result per side. Returns null when the account was deleted or removed meanwhile.
   */
  recordCheck(id: number, record: CheckRecord, failedThreshold: number): Promise<RecordedCheck | null>;
  lastChecks(id: number): Promise<SideCheck[]>;
  /** Every non-deleted account's stored state and last results, for restoring metrics. */
  history(id: number, options?: { limit?: number }): Promise<HistoryEntry[]>;
  /** Deletes history older than `olderThan`, `batch` rows per statement; returns the rows deleted. */
  pruneHistory(olderThan: Date, batch?: number): Promise<number>;
  statusCounts(): Promise<Record<AccountStatus, number>>;
  /** Non-deleted accounts backing off after credential failures, by the latest credential failure. */
  backingOffCounts(): Promise<Partial<Record<FailureCode, number>>>;
  /** The stored password for a server/port/user on one side, for "use stored password" tests. */
  findStoredPassword(side: Protocol, server: string, port: number, username: string): Promise<string | null>;
  /**
   * Stores a refreshed OAuth2 access token (and a rotated refresh token), encrypted, but only while
   * the side still holds `update.previous` (compare-and-set): a token another daemon or a save
   * stored meanwhile is never overwritten. Returns false when it was not stored for that reason.
   */
  storeOAuthToken(serviceAuthId: number, update: OAuthTokenUpdate): Promise<boolean>;
  /** One page of the console's accounts table: filtered, searched, worst first, paged in SQL. */
  listAccountSummaries(query: AccountListQuery): Promise<{ items: AccountSummary[]; total: number }>;
}
