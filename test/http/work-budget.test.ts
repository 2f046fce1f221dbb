// The test endpoints' budget counts sides tested, not requests: the pure window arithmetic, then the
// daemon over HTTP with dealer batches aimed at a closed port on 127.0.0.1 (each side fails fast).
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkBudget } from '../../src/http/api/work-budget.js';
import { closedPort } from '../peers/misbehaving.js';
import { startApi, type ApiServer } from './helpers.js';

describe('WorkBudget', () => {
  it('charges the cost in full or refuses it in full, per client, and starts over after the window', () => {
    const budget = new WorkBudget(10, 60_000);
    expect(budget.take('a', 6, 0)).toEqual({ ok: true, remaining: 4, resetInMs: 60_000 });
    expect(budget.take('a', 5, 1_000)).toEqual({
      ok: false,
      remaining: 4,
      resetInMs: 59_000,
      exceedsWindow: false,
    });
    expect(budget.take('b', 10, 1_000)).toMatchObject({ ok: true, remaining: 0 });
    expect(budget.take('a', 4, 2_000)).toMatchObject({ ok: true, remaining: 0 });
    expect(budget.take('a', 1, 59_999)).toMatchObject({ ok: false, resetInMs: 1 });
    expect(budget.take('a', 10, 60_000)).toMatchObject({ ok: true, remaining: 0, resetInMs: 60_000 });
  });

  it('says when a request alone is larger than a whole window', () => {
    const budget = new WorkBudget(10, 60_000);
    expect(budget.take('a', 11, 0)).toMatchObject({ ok: false, remaining: 10, exceedsWindow: true });
    expect(budget.take('a', 10, 0)).toMatchObject({ ok: true });
  });
});

describe('test endpoints: the rate limit counts sides', () => {
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  const batch = async (entries: number) => {
    const port = String(await closedPort());
    const entry = {
      smtpHost: '127.0.0.1',
      smtpPort: port,
      smtpUseAuth: 'false',
      imapHost: '127.0.0.1',
      imapPort: port,
      imapUserID: 'u',
      imapPassword: 'Budget-pw-0192',
    };
    return { emailCredentialsRequests: Array.from({ length: entries }, () => entry) };
  };
  const dealer = `/dealers/${randomUUID()}/email-credentials/test`;

  it('a dealer batch of N entries × 2 sides costs 2N; the next test over the budget gets 429 and Retry-After', async () => {
    api = await startApi({ overrides: { 'http.testRateLimitPerMinute': 10 } });
    const first = await api.request('POST', dealer, { body: await batch(4) });
    expect(first.status).toBe(200);
    expect(first.json.emailCredentialsResponses).toHaveLength(4);
    expect(first.headers.get('x-ratelimit-remaining')).toBe('2');
    // 2 units left: a 2-entry batch (4 sides) is refused whole, nothing of it runs.
    const second = await api.request('POST', dealer, { body: await batch(2) });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(second.json.errors[0].errorDescription).toMatch(
      /this request tests 4 sides, at most 10 per minute per client \(http\.testRateLimitPerMinute\), 2 left; retry in \d+ seconds/,
    );
    // The refused batch charged nothing: a one-entry batch (2 sides) still fits.
    expect((await api.request('POST', dealer, { body: await batch(1) })).status).toBe(200);
    const adHoc = await api.request('POST', '/api/v1/test', {
      body: {
        incoming: {
          server: '127.0.0.1',
          port: 1,
          security: 'none',
          username: 'u',
          password: 'Budget-pw-0192',
        },
      },
    });
    expect(adHoc.status).toBe(429);
    expect(adHoc.json.message).toMatch(/this request tests 1 side, at most 10 per minute/);
  });

  it('a batch larger than the whole budget is refused with a sentence saying to split it', async () => {
    api = await startApi({ overrides: { 'http.testRateLimitPerMinute': 10 } });
    const res = await api.request('POST', dealer, { body: await batch(6) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(res.json.errors[0].errorDescription).toMatch(
      /too many tests in one request: it tests 12 sides, at most 10 per minute per client \(http\.testRateLimitPerMinute\); split it/,
    );
    expect((await api.request('POST', dealer, { body: await batch(5) })).status).toBe(200);
  });

  it('a stored account costs its sides', async () => {
    api = await startApi({ overrides: { 'http.testRateLimitPerMinute': 3 } });
    const port = await closedPort();
    const side = { server: '127.0.0.1', port, security: 'none', username: 'u', password: 'Budget-pw-0192' };
    const created = await api.request('POST', '/api/v1/accounts', {
      body: { emailAddress: 'budget@example.test', incoming: side, outgoing: side },
    });
    expect(created.status).toBe(201);
    const id = created.json.id as number;
    const tested = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(tested.status, tested.text).toBe(200);
    const again = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(again.status).toBe(429);
    expect(again.json.message).toMatch(/this request tests 2 sides, .*1 left/);
  });
});
