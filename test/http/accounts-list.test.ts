// GET /api/v1/accounts hides Deleted accounts unless asked for them (includeDeleted=true, or
// status=Deleted), in the page and in its total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiServer } from './helpers.js';

describe('GET /api/v1/accounts and Deleted accounts', () => {
  let api: ApiServer;
  const ids: number[] = [];
  beforeAll(async () => {
    api = await startApi();
    for (const name of ['kept-1', 'gone', 'kept-2']) {
      const res = await api.request('POST', '/api/v1/accounts', {
        body: {
          emailAddress: `${name}@example.test`,
          outgoing: { server: 'smtp.example.test', port: 587, username: name, password: 'List-pw-4410' },
        },
      });
      expect(res.status, res.text).toBe(201);
      ids.push(res.json.id as number);
    }
    expect((await api.request('DELETE', `/api/v1/accounts/${ids[1]}`)).status).toBeLessThan(300);
  });
  afterAll(async () => {
    await api?.close();
  });

  const listed = async (query: string) => {
    const res = await api.request('GET', `/api/v1/accounts${query}`);
    expect(res.status, res.text).toBe(200);
    return { ids: (res.json.items as { id: number }[]).map((a) => a.id), total: res.json.total as number };
  };

  it('hides Deleted accounts by default, from the page and the total', async () => {
    expect(await listed('')).toEqual({ ids: [ids[0], ids[2]], total: 2 });
    expect(await listed('?includeDeleted=false&limit=1')).toEqual({ ids: [ids[0]], total: 2 });
  });

  it('lists them with includeDeleted=true', async () => {
    expect(await listed('?includeDeleted=true')).toEqual({ ids, total: 3 });
  });

  it('status=Deleted lists only them; another status never shows them', async () => {
    expect(await listed('?status=Deleted')).toEqual({ ids: [ids[1]], total: 1 });
    expect(await listed('?status=Unknown&includeDeleted=true')).toEqual({ ids: [ids[0], ids[2]], total: 2 });
  });

  it('a value other than true or false is a 400 naming the parameter', async () => {
    const res = await api.request('GET', '/api/v1/accounts?includeDeleted=yes');
    expect(res.status).toBe(400);
    expect(res.json.issues).toEqual([{ path: 'query.includeDeleted', message: 'must be "true" or "false"' }]);
  });
});
