// The IMAP check's quota step against a real Dovecot with the quota plugin (count driver): one
// limit for all users, mailboxes filled under, near and over it. A Dovecot without the plugin
// (no QUOTA capability) yields no quota at all.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createImapProbe } from '../../src/probes/imap.js';
import { toQuotaFacts } from '../../src/probes/imap-quota.js';
import type { ProbeTarget } from '../../src/probes/types.js';
import { quotaConf } from '../peers/dovecot-conf.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { runProbe } from './helpers.js';

const PASS = 'quota test password';
const USERS = ['under', 'near', 'over'].map((user) => ({ user, pass: PASS }));
const LIMIT_KIB = 100;

/** A message of about `kib` KiB (headers included). */
function message(kib: number, n: number): string {
  const line = 'x'.repeat(76);
  const body = Array.from({ length: Math.ceil((kib * 1024 - 200) / 78) }, () => line).join('\r\n');
  return `From: <filler@example.test>\r\nTo: <user@example.test>\r\nSubject: filler ${n}\r\n\r\n${body}\r\n`;
}

function saveOverLimit(dovecot: Dovecot, user: string, rfc822: string): Promise<void> {
  const args = ['-c', dovecot.confPath, '-o', 'plugin/quota_rule=*:storage=10M'];
  return new Promise((resolve, reject) => {
    const child = execFile('doveadm', [...args, 'save', '-u', user, '-m', 'INBOX'], (err) =>
      err ? reject(err) : resolve(),
    );
    child.stdin?.end(rfc822);
  });
}

describeWithPeer('dovecot', 'IMAP quota against Dovecot with the quota plugin', () => {
  let withQuota: Dovecot;
  let without: Dovecot;
  const probe = createImapProbe({ quotaWarningRatio: 0.9 });

  beforeAll(async () => {
    [withQuota, without] = await Promise.all([
      startDovecot({
        users: USERS,
        extraConf: quotaConf({ storageKib: LIMIT_KIB, messages: 50 }),
      }),
      startDovecot({ users: USERS }),
    ]);
    await withQuota.deliver('under', message(20, 1));
    await withQuota.deliver('near', message(94, 1));
    // Dovecot never stores past the limit itself: fill "over" under a raised limit, as after an
    // operator lowered the quota of a mailbox that was already fuller than the new limit.
    await saveOverLimit(withQuota, 'over', message(60, 1));
    await saveOverLimit(withQuota, 'over', message(50, 2));
  });
  afterAll(async () => {
    await Promise.all([withQuota?.stop(), without?.stop()]);
  });

  const target = (username: string, server = withQuota): ProbeTarget => ({
    protocol: 'imap',
    host: '127.0.0.1',
    port: server.imapsPort,
    security: 'tls',
    authType: 'password',
    username,
    secret: PASS,
    acceptUnverifiedCert: false,
    caPem: server.caPem,
  });

  it('under the limit: ok, quota reported, no warning', async () => {
    const { result } = await runProbe(probe, target('under'));
    expect(result).toMatchObject({ ok: true, code: null, reason: null });
    expect(result.warning).toBeUndefined();
    expect(result.quota).toMatchObject({
      root: 'User quota',
      storageLimitBytes: LIMIT_KIB * 1024,
      messages: 1,
      messageLimit: 50,
    });
    expect(result.quota?.usageRatio).toBeGreaterThan(0.18);
    expect(result.quota?.usageRatio).toBeLessThan(0.25);
    expect(result.transcript.some((l) => l.dir === 'C' && /GETQUOTAROOT INBOX/.test(l.line))).toBe(true);
  });

  it('near the limit: still ok, with a quota_nearly_full warning naming the usage', async () => {
    const { result } = await runProbe(probe, target('near'));
    expect(result).toMatchObject({ ok: true, code: null, reason: null });
    expect(result.warning?.code).toBe('quota_nearly_full');
    expect(result.warning?.reason).toMatch(
      /^IMAP mailbox nearly full: 9\d % used: 9\d of 100 KiB, 1 of 50 messages \(127\.0\.0\.1:\d+\)$/,
    );
    expect(result.quota?.usageRatio).toBeGreaterThanOrEqual(0.9);
  });

  it('over the limit: quota_exceeded in the mailbox phase, quota still reported', async () => {
    const { result } = await runProbe(probe, target('over'));
    expect(result).toMatchObject({ ok: false, code: 'quota_exceeded', phase: 'mailbox' });
    expect(result.reason).toMatch(/^IMAP mailbox full: 1\d\d % used: 1\d\d of 100 KiB, 2 of 50 messages/);
    expect(result.quota?.usageRatio).toBeGreaterThan(1);
    // Dovecot itself refuses further mail for this mailbox: what the failure is about.
    await expect(withQuota.deliver('over', message(1, 3))).rejects.toThrow(/quota/i);
  });

  it('a server without QUOTA: no quota, no GETQUOTAROOT sent', async () => {
    const { result } = await runProbe(probe, target('near', without));
    expect(result).toMatchObject({ ok: true, code: null });
    expect(result.quota).toBeUndefined();
    expect(result.transcript.some((l) => /GETQUOTAROOT/.test(l.line))).toBe(false);
  });
});

it('toQuotaFacts: the highest ratio of the reported resources; no limit = no quota', () => {
  expect(toQuotaFacts('r', { usage: 10, limit: 100 }, { usage: 9, limit: 10 })?.usageRatio).toBe(0.9);
  expect(toQuotaFacts('r', { usage: 10 }, undefined)).toBeUndefined();
  expect(toQuotaFacts('r', { usage: 5, limit: 0 }, undefined)).toBeUndefined();
  expect(toQuotaFacts('r', undefined, { usage: 3, limit: 4 })).toMatchObject({
    storageUsedBytes: null,
    storageLimitBytes: null,
    messages: 3,
    messageLimit: 4,
    usageRatio: 0.75,
  });
});
