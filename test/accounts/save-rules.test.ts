// The save rules as pure functions: where a kept secret may go, which trust a side keeps, when a
// side could never log in, and how a refusal reads in each entry point's words. (The same rules
// through every entry point and both engines: test/integration/save-paths.test.ts.)
import { describe, expect, it } from 'vitest';
import { AccountDeletedError, AccountInputError, AccountNotFoundError } from '../../src/accounts/errors.js';
import { redirectsStoredPassword } from '../../src/accounts/kept-secrets.js';
import type { StoredAccount } from '../../src/accounts/repository.js';
import { saveAccounts } from '../../src/accounts/save.js';
import { settleAccount, type AccountDraft, type SideDraft } from '../../src/accounts/save-rules.js';
import { superOfficeName } from '../../src/accounts/superoffice-mapping.js';
import { keepsPassword } from '../../src/accounts/superoffice-schema.js';
import { AccountStatus, type EmailAccount, type ServiceAuth } from '../../src/accounts/types.js';

const CA = '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----';

const storedImap: ServiceAuth = {
  serviceAuthId: 1,
  server: 'imap.example.test',
  port: 993,
  authType: 'password',
  username: 'alice',
  password: '',
  security: 'tls',
  acceptUnverifiedCert: true,
  caPem: CA,
  oauth: null,
};

const storedOAuth: ServiceAuth = {
  ...storedImap,
  serviceAuthId: 2,
  server: 'smtp.example.test',
  port: 587,
  security: 'starttls',
  authType: 'oauth2',
  acceptUnverifiedCert: false,
  caPem: null,
  oauth: {
    tokenUrl: 'https://login.example.test/token',
    clientId: 'client-1',
    clientSecret: '',
    refreshToken: '',
    scope: null,
    accessExpiresAt: null,
  },
};

function stored(hasPassword = false, status = AccountStatus.Ok): StoredAccount {
  const account = {
    emailAccountId: 7,
    emailAddress: 'a@example.test',
    associateId: 0,
    incoming: storedImap,
    outgoing: storedOAuth,
    accountStatus: status,
  } as EmailAccount;
  return { account, hasPassword: () => hasPassword };
}

/** The stored sides sent back: every secret kept, trust left out. */
const keptImap = (): SideDraft => ({
  server: 'imap.example.test',
  port: 993,
  authType: 'password',
  username: 'alice',
  password: undefined,
  security: 'tls',
  acceptUnverifiedCert: undefined,
  caPem: undefined,
});
const keptOAuth = (): SideDraft => ({
  ...keptImap(),
  server: 'smtp.example.test',
  port: 587,
  security: 'starttls',
  authType: 'oauth2',
});

const draft = (
  incoming: SideDraft | null,
  outgoing: SideDraft | null = keptOAuth(),
  id = 7,
): AccountDraft => ({
  emailAccountId: id,
  emailAddress: 'a@example.test',
  associateId: 0,
  incoming,
  outgoing,
});

function refusal(run: () => unknown): AccountInputError {
  try {
    run();
  } catch (error) {
    if (error instanceof AccountInputError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('write-only secrets', () => {
  it('absent, empty and the mask keep the stored password; anything else replaces it', () => {
    expect([undefined, '', '****'].map(keepsPassword)).toEqual([true, true, true]);
    expect(['x', '*****', ' ****'].map(keepsPassword)).toEqual([false, false, false]);
  });

  it.each([
    [{}, null],
    [{ server: 'IMAP.example.test' }, null], // host names compare case-insensitively
    [{ security: 'starttls' }, null],
    [{ acceptUnverifiedCert: false, caPem: null }, null], // trusting less is always fine
    [{ server: 'evil.example.test' }, 'server'],
    [{ port: 143 }, 'port'],
    [{ username: 'Alice' }, 'username'],
    [{ security: 'none' }, 'security'],
    [{ authType: 'login' }, 'authType'],
    [{ acceptUnverifiedCert: true }, 'acceptUnverifiedCert'],
    [{ caPem: CA }, 'caPem'],
  ] as const)('changing %j while keeping the password: %s', (change, reason) => {
    const base = { ...storedImap, acceptUnverifiedCert: false, caPem: null };
    expect(redirectsStoredPassword(base, { ...base, ...change })).toBe(reason);
  });
});

describe('settleAccount', () => {
  it('keeps every stored secret and the trust of an unmoved side; spells out kept OAuth settings', () => {
    const input = settleAccount(draft(keptImap()), stored());
    expect(input.incoming).toMatchObject({ password: undefined, acceptUnverifiedCert: true, caPem: CA });
    expect(input.outgoing?.oauth).toEqual({
      tokenUrl: 'https://login.example.test/token',
      clientId: 'client-1',
      clientSecret: undefined,
      refreshToken: undefined,
      scope: null,
    });
  });

  it('a side moved with its password given keeps none of the old server’s trust', () => {
    const moved = { ...keptImap(), server: 'moved.example.test', password: 'new' };
    expect(settleAccount(draft(moved), stored()).incoming).toMatchObject({
      acceptUnverifiedCert: false,
      caPem: null,
    });
    // Trust given with the move is the request's own.
    const trusted = { ...moved, acceptUnverifiedCert: true };
    expect(settleAccount(draft(trusted), stored()).incoming?.acceptUnverifiedCert).toBe(true);
  });

  it('refuses a kept password that would follow a move, naming the field in each wording', () => {
    const error = refusal(() => settleAccount(draft({ ...keptImap(), port: 143 }), stored()));
    expect(error.message).toBe(
      'incoming.password: is required when port changes: a stored password is only sent to the server it was given for',
    );
    expect([error.field(superOfficeName), error.problem(superOfficeName)]).toEqual([
      'IncomingCredentials.Password',
      'is required when Port changes: a stored password is only sent to the server it was given for',
    ]);
  });

  it('checks a kept refresh token before the password: a new access token does not make a move safe', () => {
    const moved = { ...keptOAuth(), server: 'evil.example.test', password: 'new-access-token' };
    expect(refusal(() => settleAccount(draft(keptImap(), moved), stored())).field()).toBe(
      'outgoing.oauth.refreshToken',
    );
  });

  it('a new side needs its password; a new grant may start without an access token', () => {
    expect(refusal(() => settleAccount(draft(keptImap(), null, 0), null)).field()).toBe('incoming.password');
    const grant = {
      ...keptOAuth(),
      oauth: {
        tokenUrl: 'https://t.example.test/',
        clientId: 'c',
        clientSecret: undefined,
        refreshToken: 'r',
        scope: null,
      },
    };
    const input = settleAccount(draft(null, grant, 0), null);
    // No secret stored: keeping the client secret keeps none (a public client).
    expect(input.outgoing).toMatchObject({ password: '', oauth: { clientSecret: null, refreshToken: 'r' } });
  });

  it('removing OAuth from a side without an access token is refused; with one it is kept', () => {
    const removed = { ...keptOAuth(), oauth: null };
    const error = refusal(() => settleAccount(draft(keptImap(), removed), stored(false)));
    expect(error.field(superOfficeName)).toBe('OutgoingCredentials.Password');
    expect(error.problem(superOfficeName)).toMatch(/^is required: without OAuth settings/);
    expect(settleAccount(draft(keptImap(), removed), stored(true)).outgoing).toMatchObject({
      oauth: null,
      password: undefined,
    });
    expect(
      settleAccount(draft(keptImap(), { ...removed, password: 'at' }), stored(false)).outgoing,
    ).toMatchObject({
      oauth: null,
      password: 'at',
    });
  });

  it('an unknown id is not found; a Deleted account is not updated', () => {
    expect(() => settleAccount(draft(keptImap()), null)).toThrow(AccountNotFoundError);
    expect(() => settleAccount(draft(keptImap()), stored(false, AccountStatus.Deleted))).toThrow(
      AccountDeletedError,
    );
  });
});

describe('saveAccounts', () => {
  it('refuses an account saved twice in one batch before touching storage', async () => {
    const repo = {
      saveChecked: async () => {
        throw new Error('storage reached');
      },
    };
    await expect(saveAccounts(repo, [draft(keptImap()), draft(keptImap())])).rejects.toMatchObject({
      problems: [{ index: 1, error: expect.objectContaining({ path: ['emailAccountId'] }) }],
    });
  });
});

describe('credentialsChanged: only a save that changes what a side logs in with ends an auth backoff', () => {
  const withPassword = (password: string): StoredAccount => ({
    ...stored(true),
    samePassword: (_side, candidate) => candidate === password,
  });
  const settled = (side: Partial<SideDraft>, account = withPassword('stale')) =>
    settleAccount(
      {
        emailAccountId: 7,
        emailAddress: 'a@example.test',
        associateId: 0,
        incoming: { ...keptImap(), ...side },
        outgoing: {
          ...keptImap(),
          server: 'smtp.example.test',
          port: 587,
          security: 'starttls',
          authType: 'oauth2',
          oauth: undefined,
          password: undefined,
          acceptUnverifiedCert: false,
          caPem: null,
        },
      },
      account,
    ).credentialsChanged;

  it.each([
    ['every secret kept, nothing moved', {}, false],
    ['the same stale password sent again (a CRM sync)', { password: 'stale' }, false],
    ['the server name in other letter case', { server: 'IMAP.Example.TEST', password: 'stale' }, false],
    ['a new password', { password: 'fresh' }, true],
    ['another user name', { username: 'bob', password: 'stale' }, true],
    ['another port', { port: 143, security: 'starttls', password: 'stale' }, true],
    ['another server', { server: 'imap2.example.test', password: 'stale' }, true],
  ] as const)('%s → %s', (_name, side, want) => {
    expect(settled(side)).toBe(want);
  });

  it('without a way to compare (samePassword absent) any password given counts as new; a create always changes', () => {
    expect(settled({ password: 'stale' }, stored(true))).toBe(true);
    const created = settleAccount(
      {
        emailAccountId: 0,
        emailAddress: 'n@example.test',
        associateId: 0,
        incoming: { ...keptImap(), password: 'x' },
        outgoing: null,
      },
      null,
    );
    expect(created.credentialsChanged).toBe(true);
  });
});
