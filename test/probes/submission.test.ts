// The SMTP probe against a second, unrelated SMTP implementation: Dovecot's submission service
// (STARTTLS on a submission port, AUTH through the same passdb as IMAP), relaying to a local sink.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createSmtpProbe } from '../../src/probes/smtp.js';
import type { ProbeTarget } from '../../src/probes/types.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { outcome, runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const USER = 'frank';
const PASS = 'submission password';

describeWithPeer('dovecot', 'SMTP probe against Dovecot submission', () => {
  let sink: TestSmtpServer;
  let dovecot: Dovecot;
  let handles: HandleSnapshot;
  beforeEach(() => {
    handles = snapshotHandles();
  });
  afterEach(async () => {
    await handles.assertNoLeak();
  });

  beforeAll(async () => {
    sink = await startSmtpServer({ users: [], authOptional: true, disabledCommands: ['STARTTLS'] });
    dovecot = await startDovecot({
      users: [{ user: USER, pass: PASS }],
      submission: { relayPort: sink.port },
    });
  });
  afterAll(async () => {
    await dovecot?.stop();
    await sink?.stop();
  });

  const target = (extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
    protocol: 'smtp',
    host: '127.0.0.1',
    port: dovecot.submissionPort!,
    security: 'starttls',
    authType: 'password',
    username: USER,
    secret: PASS,
    acceptUnverifiedCert: false,
    caPem: dovecot.caPem,
    ...extra,
  });

  it('STARTTLS, AUTH and a test send relayed to the sink', async () => {
    const { result, elapsedMs } = await runProbe(
      createSmtpProbe(),
      target({ emailAddress: 'frank@example.test', testSend: { to: 'ops@example.test' } }),
    );
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(result.tls?.authorized).toBe(true);
    expect(sink.messages.map((m) => m.to)).toEqual([['ops@example.test']]);
    console.log(
      `Dovecot submission: STARTTLS+AUTH+send+QUIT ${elapsedMs.toFixed(0)} ms`,
      JSON.stringify(result.phases),
    );
  });

  it('a wrong password: auth_rejected with 535 5.7.8', async () => {
    const { result } = await runProbe(createSmtpProbe(), target({ secret: 'wrong' }));
    expect(outcome(result)).toEqual({ ok: false, code: 'auth_rejected', phase: 'auth' });
    expect(result.response?.code).toBe('535 5.7.8');
    expect(result.reason).toMatch(
      new RegExp(`^SMTP login rejected: 535 5\\.7\\.8 .+ \\(127\\.0\\.0\\.1:${dovecot.submissionPort}\\)$`),
    );
  });
});
