// The native account routes over real HTTP: create, read, list, update (write-only passwords),
// delete, history; every response checked for the passwords that went in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStatus } from '../../src/accounts/types.js';
import { certFor } from '../peers/certs.js';
import { expectNoSecrets, startApi, type ApiServer } from './helpers.js';

const PW_IN = 'Acct-Imap-Canary-71d3';
const PW_OUT = 'Acct-Smtp-Canary-29be';
const PW_NEW = 'Acct-New-Canary-5a0f';

const imap = (extra: Record<string, unknown> = {}) => ({
  server: 'imap.example.test',
  port: 993,
  username: 'alice',
  password: PW_IN,
  ...extra,
});
const smtp = (extra: Record<string, unknown> = {}) => ({
  server: 'smtp.example.test',
  port: 587,
  username: 'alice',
  password: PW_OUT,
  ...extra,
});

describe('native account routes', () => {
  let api: ApiServer;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    expectNoSecrets(api?.bodies ?? [], [PW_IN, PW_OUT, PW_NEW]);
    expectNoSecrets([api?.logs.text ?? ''], [PW_IN, PW_OUT, PW_NEW]);
    await api?.close();
  });

  const create = async (address: string, body: Record<string, unknown> = {}) => {
    const res = await api.request('POST', '/api/v1/accounts', {
      body: { emailAddress: address, incoming: imap(), outgoing: smtp(), ...body },
    });
    expect(res.status, res.text).toBe(201);
    return res.json as { id: number; incoming: { caPem: string | null } | null };
  };

  it('creates an account: 201, Location, passwords masked, security defaulted by port', async () => {
    const res = await api.request('POST', '/api/v1/accounts', {
      body: { emailAddress: 'new@example.test', associateId: 7, incoming: imap(), outgoing: smtp() },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/accounts/${res.json.id}`);
    expect(res.json).toMatchObject({
      emailAddress: 'new@example.test',
      associateId: 7,
      status: 'Unknown',
      errorCount: 0,
      incoming: {
        server: 'imap.example.test',
        port: 993,
        security: 'tls',
        password: '****',
        authType: 'password',
      },
      outgoing: { server: 'smtp.example.test', port: 587, security: 'starttls', password: '****' },
      lastCheckAt: null,
    });
    const stored = await api.core.repo.getAccountWithSecrets(res.json.id);
    expect(stored?.incoming?.password).toBe(PW_IN);
    expect(stored?.outgoing?.password).toBe(PW_OUT);
  });

  it('stores a CA given as PEM and refuses one that is not', async () => {
    const { caPem } = await certFor('valid');
    const ok = await create('ca@example.test', { incoming: imap({ caPem }), outgoing: null });
    expect(ok.incoming?.caPem).toBe(caPem);
    const bad = await api.request('POST', '/api/v1/accounts', {
      body: { emailAddress: 'ca2@example.test', incoming: imap({ caPem: 'not a certificate' }) },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.issues).toEqual([{ path: 'incoming.caPem', message: expect.stringMatching(/PEM/) }]);
  });

  it('refuses a new account without a password, naming the field, and stores nothing', async () => {
    const before = (await api.core.repo.listAccounts()).total;
    const res = await api.request('POST', '/api/v1/accounts', {
      body: { emailAddress: 'nopw@example.test', incoming: imap({ password: undefined }) },
    });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/^incoming\.password: is required/);
    expect((await api.core.repo.listAccounts()).total).toBe(before);
  });

  it('gets one account with its (empty) last checks; 404 for an unknown id', async () => {
    const { id } = await create('get@example.test');
    const res = await api.request('GET', `/api/v1/accounts/${id}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id, emailAddress: 'get@example.test', lastChecks: [] });
    const missing = await api.request('GET', '/api/v1/accounts/999999');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'account 999999 does not exist',
    });
  });

  it('lists accounts paged and filtered by status', async () => {
    const ids = [];
    for (const n of [1, 2, 3]) ids.push((await create(`page${n}@example.test`)).id);
    const all = await api.request('GET', '/api/v1/accounts?limit=1000');
    expect(all.status).toBe(200);
    const total = all.json.total as number;
    expect(all.json.items).toHaveLength(total);
    const page = await api.request('GET', `/api/v1/accounts?limit=2&offset=${total - 3}`);
    expect(page.json).toMatchObject({ total, limit: 2, offset: total - 3 });
    expect(page.json.items.map((a: { id: number }) => a.id)).toEqual(ids.slice(0, 2));

    // Through the API: a write behind the daemon's back reaches its gauges at the next reconciliation.
    await api.request('DELETE', `/api/v1/accounts/${ids[2]!}`);
    const deleted = await api.request('GET', '/api/v1/accounts?status=Deleted');
    expect(deleted.json.items.map((a: { id: number }) => a.id)).toContain(ids[2]);
    expect(deleted.json.items.every((a: { status: string }) => a.status === 'Deleted')).toBe(true);
    const unknown = await api.request('GET', '/api/v1/accounts?status=Unknown&limit=1000');
    expect(unknown.json.items.map((a: { id: number }) => a.id)).not.toContain(ids[2]);
  });

  it('update: the mask (or no password) keeps the stored one; a new password replaces it', async () => {
    const { id } = await create('upd@example.test');
    const got = await api.request('GET', `/api/v1/accounts/${id}`);
    // Round trip: what GET returned, with a changed address, PUT back as is.
    const { incoming, outgoing } = got.json;
    const put = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: { emailAddress: 'upd2@example.test', incoming, outgoing: { ...outgoing, password: undefined } },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toMatchObject({ id, emailAddress: 'upd2@example.test', incoming: { password: '****' } });
    let stored = await api.core.repo.getAccountWithSecrets(id);
    expect([stored?.incoming?.password, stored?.outgoing?.password]).toEqual([PW_IN, PW_OUT]);

    await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: {
        emailAddress: 'upd2@example.test',
        incoming: imap({ password: PW_NEW }),
        outgoing: smtp({ password: '' }),
      },
    });
    stored = await api.core.repo.getAccountWithSecrets(id);
    expect([stored?.incoming?.password, stored?.outgoing?.password]).toEqual([PW_NEW, PW_OUT]);
  });

  it('update: a kept password is not redirected to another server, port, user, mechanism or to plain text', async () => {
    const { id } = await create('redirect@example.test');
    const cases: [Record<string, unknown>, string][] = [
      [{ server: 'evil.example.test' }, 'server'],
      [{ port: 1993 }, 'port'],
      [{ username: 'mallory' }, 'username'],
      [{ security: 'none' }, 'security'],
      // Created with the default mechanism; another one may send the password in a weaker form.
      [{ authType: 'plain' }, 'authType'],
    ];
    for (const [change, what] of cases) {
      const res = await api.request('PUT', `/api/v1/accounts/${id}`, {
        body: { emailAddress: 'redirect@example.test', incoming: imap({ ...change, password: '****' }) },
      });
      expect(res.status, what).toBe(400);
      expect(res.json.issues, what).toEqual([
        { path: 'incoming.password', message: expect.stringContaining(`required when ${what} changes`) },
      ]);
    }
    // Nothing was half-stored: the account is as created.
    const stored = await api.core.repo.getAccountWithSecrets(id);
    expect(stored?.incoming).toMatchObject({
      server: 'imap.example.test',
      port: 993,
      username: 'alice',
      password: PW_IN,
    });
    expect(stored?.outgoing?.password).toBe(PW_OUT);
    // With the password, the same change is fine.
    const moved = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: {
        emailAddress: 'redirect@example.test',
        incoming: imap({ server: 'imap2.example.test', password: PW_NEW }),
      },
    });
    expect(moved.status).toBe(200);
    expect(moved.json.outgoing).toBeNull();
  });

  it('update: adding a side needs its password; unknown ids 404; Deleted accounts 409', async () => {
    const { id } = await create('side@example.test', { outgoing: null });
    const add = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: {
        emailAddress: 'side@example.test',
        incoming: imap({ password: '****' }),
        outgoing: smtp({ password: '****' }),
      },
    });
    expect(add.status).toBe(400);
    expect(add.json.issues).toEqual([
      { path: 'outgoing.password', message: 'is required for new credentials' },
    ]);

    const missing = await api.request('PUT', '/api/v1/accounts/999999', {
      body: { emailAddress: 'x@example.test', incoming: imap() },
    });
    expect(missing.status).toBe(404);

    await api.request('DELETE', `/api/v1/accounts/${id}`);
    const gone = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: { emailAddress: 'side@example.test', incoming: imap() },
    });
    expect(gone.status).toBe(409);
    expect(gone.json.message).toMatch(/is Deleted/);
  });

  it('delete marks the account Deleted, keeps it readable and updates the status gauge', async () => {
    const { id } = await create('del@example.test');
    const res = await api.request('DELETE', `/api/v1/accounts/${id}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id, status: 'Deleted', nextDueAt: null });
    expect((await api.core.repo.getAccount(id))?.accountStatus).toBe(AccountStatus.Deleted);
    const counts = await api.core.repo.statusCounts();
    const metrics = await api.request('GET', '/metrics', { token: null });
    expect(metrics.text).toContain(`mailmon_accounts{status="deleted"} ${counts[AccountStatus.Deleted]}`);
    expect(metrics.text).toContain(`mailmon_accounts{status="unknown"} ${counts[AccountStatus.Unknown]}`);
    expect((await api.request('DELETE', '/api/v1/accounts/999999')).status).toBe(404);
  });

  it('history of a new account is empty; of an unknown one 404', async () => {
    const { id } = await create('hist@example.test');
    const res = await api.request('GET', `/api/v1/accounts/${id}/history?limit=5`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ accountId: id, items: [] });
    expect((await api.request('GET', '/api/v1/accounts/999999/history')).status).toBe(404);
  });
});
