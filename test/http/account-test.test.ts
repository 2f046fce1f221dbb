// On-demand tests over real HTTP against real Dovecot and smtp-server: the stored account is updated
// exactly as a scheduled check would update it, concurrent requests share one check, and the ad-hoc
// test stores nothing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AccountStatus } from '../../src/accounts/types.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { expectNoSecrets, side, startApi, type ApiServer } from './helpers.js';

const GOOD = 'OnDemand-Good-Canary-8e21';
const BAD = 'OnDemand-Bad-Canary-03c7';

describeWithPeer('dovecot', 'on-demand tests against Dovecot and smtp-server', () => {
  let api: ApiServer;
  let dovecot: Dovecot;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    [api, dovecot, smtp] = await Promise.all([
      startApi({ overrides: { 'status.failedThreshold': 2 } }),
      startDovecot({ users: [{ user: 'alice', pass: GOOD }] }),
      startSmtpServer({ users: [{ user: 'alice', pass: GOOD }] }),
    ]);
  });
  afterAll(async () => {
    expectNoSecrets(api?.bodies ?? [], [GOOD, BAD]);
    expectNoSecrets([api?.logs.text ?? ''], [GOOD, BAD]);
    await Promise.all([api?.close(), dovecot?.stop(), smtp?.stop()]);
  });

  const imapSide = (password: string) =>
    side({ port: dovecot.imapsPort, caPem: dovecot.caPem }, password, { security: 'tls' });
  const smtpSide = (password: string) => side({ port: smtp.port, caPem: smtp.caPem }, password);

  const create = async (address: string, incoming: unknown, outgoing: unknown): Promise<number> => {
    const res = await api.request('POST', '/api/v1/accounts', {
      body: { emailAddress: address, incoming, outgoing },
    });
    expect(res.status, res.text).toBe(201);
    return res.json.id as number;
  };

  it('a good account tests Ok: per side outcome, phases, TLS facts, redacted transcript; stored and exported', async () => {
    const id = await create('good@example.test', imapSide(GOOD), smtpSide(GOOD));
    const res = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ accountId: id, ok: true, account: { status: 'Ok', errorCount: 0 } });
    const [imap, smtpResult] = res.json.sides;
    expect(imap).toMatchObject({
      side: 'imap',
      ok: true,
      code: null,
      phase: null,
      reason: null,
      address: '127.0.0.1',
    });
    expect(smtpResult).toMatchObject({ side: 'smtp', ok: true, code: null });
    expect(imap.phases.map((p: { phase: string }) => p.phase)).toEqual(
      expect.arrayContaining(['connect', 'tls', 'auth']),
    );
    expect(imap.tls).toMatchObject({
      authorized: true,
      subjectAltNames: expect.arrayContaining([expect.stringContaining('127.0.0.1')]),
    });
    expect(smtpResult.tls?.authorized).toBe(true); // STARTTLS
    expect(imap.transcript.length).toBeGreaterThan(2);
    expect(JSON.stringify(res.json)).not.toMatch(/"cause"/);

    const stored = await api.core.repo.getAccount(id);
    expect(stored).toMatchObject({ accountStatus: AccountStatus.Ok, errorCount: 0 });
    expect(stored?.lastSuccessAt).not.toBeNull();
    const metrics = await api.request('GET', '/metrics', { token: null });
    expect(metrics.text).toMatch(
      new RegExp(`mailmon_account_status\\{[^}]*account_id="${id}"[^}]*\\} ${AccountStatus.Ok}`),
    );
    expect(metrics.text).toMatch(/mailmon_checks_total\{[^}]*protocol="imap"[^}]*result="success"/);

    const detail = await api.request('GET', `/api/v1/accounts/${id}`);
    expect(detail.json.lastChecks.map((c: { side: string; ok: boolean }) => [c.side, c.ok])).toEqual([
      ['imap', true],
      ['smtp', true],
    ]);
    expect(detail.json.lastChecks[0].transcript.length).toBeGreaterThan(2);
    expect(detail.json.lastChecks[0].tls.authorized).toBe(true);
  });

  it('a bad password goes Failing then Failed, with history and a reason naming the side', async () => {
    const id = await create('bad@example.test', imapSide(BAD), smtpSide(GOOD));
    const first = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(first.json).toMatchObject({ ok: false, account: { status: 'Failing', errorCount: 1 } });
    expect(first.json.sides[0]).toMatchObject({
      side: 'imap',
      ok: false,
      code: 'auth_rejected',
      phase: 'auth',
    });
    expect(first.json.sides[1]).toMatchObject({ side: 'smtp', ok: true });
    expect(first.json.account.errorReason).toMatch(/^IMAP/);
    const second = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(second.json.account).toMatchObject({ status: 'Failed', errorCount: 2 });

    const history = await api.request('GET', `/api/v1/accounts/${id}/history`);
    expect(history.json.items).toHaveLength(4); // two checks, two sides each
    expect(
      history.json.items.filter((e: { side: string; ok: boolean }) => e.side === 'imap' && !e.ok),
    ).toHaveLength(2);
    const metrics = await api.request('GET', '/metrics', { token: null });
    const counts = await api.core.repo.statusCounts();
    expect(metrics.text).toContain(`mailmon_accounts{status="failed"} ${counts[AccountStatus.Failed]}`);
  });

  it('backing off after refused logins: nextDueAt and authBackoff in the view, a manual test still runs, a PUT with the new password ends it', async () => {
    const id = await create('backoff@example.test', null, smtpSide(BAD));
    const before = smtp.authAttempts.length;
    for (let i = 0; i < 3; i++) await api.request('POST', `/api/v1/accounts/${id}/test`);
    // Every manual test ran: three AUTH attempts at the server, although the account backs off.
    expect(smtp.authAttempts.length - before).toBe(3);
    const got = await api.request('GET', `/api/v1/accounts/${id}`);
    expect(got.json.authBackoff).toEqual({ failures: 3, code: 'auth_rejected' });
    // Three failures in a row: 4 × the interval from the last test.
    const wait = Date.parse(got.json.nextDueAt) - Date.parse(got.json.lastCheckAt);
    // (The wait is counted on the database's clock from the claim; lastCheckAt is the process clock.)
    expect(Math.abs(wait - 4 * api.core.config.scheduler.checkIntervalSeconds * 1000)).toBeLessThan(2_000);
    const metrics = await api.request('GET', '/metrics', { token: null });
    expect(metrics.text).toMatch(/^mailmon_accounts_backing_off\{code="auth_rejected"\} \d+$/m);

    // The same stale password PUT again (a CRM sync) keeps the backoff; the new one ends it.
    const same = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: { emailAddress: 'backoff@example.test', incoming: null, outgoing: smtpSide(BAD) },
    });
    expect(same.status, same.text).toBe(200);
    expect(same.json).toMatchObject({ authBackoff: { failures: 3 }, nextDueAt: got.json.nextDueAt });
    const saved = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: { emailAddress: 'backoff@example.test', incoming: null, outgoing: smtpSide(GOOD) },
    });
    expect(saved.json.authBackoff).toBeNull();
    expect(Date.parse(saved.json.nextDueAt)).toBeLessThanOrEqual(Date.now());
    const fixed = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(fixed.json).toMatchObject({ ok: true, account: { status: 'Ok', authBackoff: null } });
  });

  it('concurrent tests of one account share one check: one AUTH on the server, one history entry', async () => {
    const id = await create('burst@example.test', null, smtpSide(GOOD));
    const before = smtp.authAttempts.length;
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => api.request('POST', `/api/v1/accounts/${id}/test`)),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(smtp.authAttempts.length - before).toBe(1);
    const history = await api.request('GET', `/api/v1/accounts/${id}/history`);
    expect(history.json.items).toHaveLength(1);
    // Control: a later request runs a new check.
    await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(smtp.authAttempts.length - before).toBe(2);
  });

  it('deleting a tested account removes its per-account series', async () => {
    const id = await create('series@example.test', null, smtpSide(GOOD));
    await api.request('POST', `/api/v1/accounts/${id}/test`);
    const series = new RegExp(`account_id="${id}"`);
    expect((await api.request('GET', '/metrics', { token: null })).text).toMatch(series);
    await api.request('DELETE', `/api/v1/accounts/${id}`);
    expect((await api.request('GET', '/metrics', { token: null })).text).not.toMatch(series);
    // A Deleted account is not tested.
    expect((await api.request('POST', `/api/v1/accounts/${id}/test`)).status).toBe(404);
  });

  it('POST /api/v1/test tests given credentials and stores nothing', async () => {
    const before = await api.core.repo.listAccounts();
    const good = await api.request('POST', '/api/v1/test', {
      body: { emailAddress: 'adhoc@example.test', incoming: imapSide(GOOD), outgoing: smtpSide(GOOD) },
    });
    expect(good.status, good.text).toBe(200);
    expect(good.json.ok).toBe(true);
    expect(good.json.sides.map((s: { side: string; ok: boolean }) => [s.side, s.ok])).toEqual([
      ['imap', true],
      ['smtp', true],
    ]);
    const bad = await api.request('POST', '/api/v1/test', { body: { outgoing: smtpSide(BAD) } });
    expect(bad.json).toMatchObject({
      ok: false,
      sides: [{ side: 'smtp', ok: false, code: 'auth_rejected' }],
    });
    expect(bad.json.sides[0].transcript.some((l: { line: string }) => /^AUTH/i.test(l.line))).toBe(true);
    const after = await api.core.repo.listAccounts();
    expect(after.total).toBe(before.total);
  });

  it('an untrusted certificate fails the ad-hoc test unless its CA is given', async () => {
    const noCa = await api.request('POST', '/api/v1/test', {
      body: { incoming: side({ port: dovecot.imapsPort }, GOOD, { security: 'tls' }) },
    });
    expect(noCa.json.sides[0]).toMatchObject({
      ok: false,
      phase: 'tls',
      code: expect.stringMatching(/^tls_cert_/),
    });
    expect(noCa.json.sides[0].tls?.authorized).toBe(false);
  });
});
