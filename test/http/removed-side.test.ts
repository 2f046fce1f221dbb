// Saving an account without one of its sides, through the native API or SaveEMailAccount, drops that
// side's series from /metrics at once (its last result and its old server's certificate), without
// waiting for the account's next check. Real daemon, Dovecot and smtp-server.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { find, parseExposition, type Sample } from '../metrics/exposition.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { expectNoSecrets, side, startApi, type ApiServer } from './helpers.js';

const GOOD = 'Removed-Side-Good-Canary-2d9f';
const BAD = 'Removed-Side-Bad-Canary-71ac';

const SIDE_FAMILIES = [
  'mailmon_check_success',
  'mailmon_last_check_timestamp_seconds',
  'mailmon_last_success_timestamp_seconds',
  'mailmon_check_failure_info',
];

describeWithPeer('dovecot', 'a side removed by a save leaves /metrics at once', () => {
  let api: ApiServer;
  let dovecot: Dovecot;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    [dovecot, smtp] = await Promise.all([
      startDovecot({ users: [{ user: 'alice', pass: GOOD }] }),
      startSmtpServer({ users: [{ user: 'alice', pass: GOOD }] }),
    ]);
    api = await startApi();
  });
  afterAll(async () => {
    expectNoSecrets(api?.bodies ?? [], [GOOD, BAD]);
    expectNoSecrets([api?.logs.text ?? ''], [GOOD, BAD]);
    await Promise.all([api?.close(), dovecot?.stop(), smtp?.stop()]);
  });

  const imapSide = () => side({ port: dovecot.imapsPort, caPem: dovecot.caPem }, GOOD, { security: 'tls' });
  const smtpSide = () => side({ port: smtp.port, caPem: smtp.caPem }, BAD);

  const scrape = async (): Promise<Sample[]> =>
    parseExposition((await api.request('GET', '/metrics', { token: null })).text);
  const sideSeries = (samples: Sample[], id: number, protocol: string) =>
    SIDE_FAMILIES.flatMap((name) => find(samples, name, { account_id: String(id), protocol }));
  const certificatePorts = (samples: Sample[]) =>
    find(samples, 'mailmon_tls_certificate_expiry_timestamp_seconds', { host: '127.0.0.1' }).map((s) =>
      Number(s.labels.port),
    );

  /** An account whose IMAP side passes and whose SMTP side fails, tested once. */
  async function checkedAccount(address: string): Promise<number> {
    const created = await api.request('POST', '/api/v1/accounts', {
      body: { emailAddress: address, incoming: imapSide(), outgoing: smtpSide() },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as number;
    const tested = await api.request('POST', `/api/v1/accounts/${id}/test`);
    expect(tested.json.sides.map((s: { ok: boolean }) => s.ok)).toEqual([true, false]);
    const samples = await scrape();
    expect(
      find(samples, 'mailmon_check_failure_info', { account_id: String(id), protocol: 'smtp' }),
    ).toHaveLength(1);
    expect(certificatePorts(samples)).toContain(smtp.port);
    return id;
  }

  it('native API: PUT with outgoing null', async () => {
    const id = await checkedAccount('native@example.test');
    const put = await api.request('PUT', `/api/v1/accounts/${id}`, {
      body: { emailAddress: 'native@example.test', incoming: imapSide(), outgoing: null },
    });
    expect(put.status, put.text).toBe(200);
    const samples = await scrape();
    expect(sideSeries(samples, id, 'smtp')).toEqual([]);
    expect(sideSeries(samples, id, 'imap').length).toBeGreaterThan(0);
    expect(certificatePorts(samples)).toEqual([dovecot.imapsPort]);
  });

  it('SaveEMailAccount with OutgoingCredentials null', async () => {
    const id = await checkedAccount('compat@example.test');
    const saved = await api.request('POST', '/api/v1/Agents/EMail/SaveEMailAccount', {
      body: {
        EMailAccountId: id,
        EMailAddress: 'compat@example.test',
        AssociateId: 0,
        IncomingCredentials: {
          Server: '127.0.0.1',
          Port: dovecot.imapsPort,
          AuthType: 'plain-text',
          Username: 'alice',
          Password: '****',
        },
        OutgoingCredentials: null,
      },
    });
    expect(saved.status, saved.text).toBe(200);
    const samples = await scrape();
    expect(sideSeries(samples, id, 'smtp')).toEqual([]);
    expect(sideSeries(samples, id, 'imap').length).toBeGreaterThan(0);
    expect(certificatePorts(samples)).toEqual([dovecot.imapsPort]);
  });
});
