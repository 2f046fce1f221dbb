// IMAP XOAUTH2 / OAUTHBEARER against Dovecot's oauth2 passdb, which checks every token at a small
// local introspection endpoint (RFC 7662, introspection_mode = post).
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createImapProbe } from '../../src/probes/imap.js';
import type { ProbeTarget } from '../../src/probes/types.js';
import { startIntrospection, startOAuthDovecot, type Introspection } from '../integration/oauth-peers.js';
import type { Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { outcome, runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const USER = 'erin';
const TOKEN = 'at-imap-valid-token';

describeWithPeer('dovecot', 'IMAP OAuth2 against Dovecot oauth2 passdb', () => {
  let dovecot: Dovecot;
  let xoauth2Only: Dovecot;
  let introspection: Introspection;
  let handles: HandleSnapshot;
  beforeEach(() => {
    handles = snapshotHandles();
  });
  afterEach(async () => {
    await handles.assertNoLeak();
  });

  beforeAll(async () => {
    introspection = await startIntrospection(TOKEN, USER);
    const withMechanisms = (mechanisms: string): Promise<Dovecot> =>
      startOAuthDovecot({
        introspectionUrl: introspection.url,
        users: [{ user: USER, pass: 'password-not-used-here' }],
        mechanisms,
      });
    [dovecot, xoauth2Only] = await Promise.all([
      withMechanisms('xoauth2 oauthbearer'),
      withMechanisms('xoauth2'),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dovecot?.stop(), xoauth2Only?.stop()]);
    await introspection?.close();
  });

  const target = (secret: string, server = dovecot): ProbeTarget => ({
    protocol: 'imap',
    host: '127.0.0.1',
    port: server.imapsPort,
    security: 'tls',
    authType: 'oauth2',
    username: USER,
    secret,
    acceptUnverifiedCert: false,
    caPem: dovecot.caPem,
  });

  it('a valid token logs in with OAUTHBEARER (the server checked it at the introspection endpoint)', async () => {
    introspection.seen.length = 0;
    const { result } = await runProbe(createImapProbe(), target(TOKEN));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(introspection.seen).toEqual([TOKEN]);
    expect(result.transcript.map((l) => l.line)).toContainEqual(
      expect.stringMatching(/^\d+ AUTHENTICATE OAUTHBEARER \*\*\*\*$/),
    );
  });

  it('a server offering only XOAUTH2: logs in with XOAUTH2', async () => {
    introspection.seen.length = 0;
    const { result } = await runProbe(createImapProbe(), target(TOKEN, xoauth2Only));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(introspection.seen).toEqual([TOKEN]);
    expect(result.transcript.map((l) => l.line)).toContainEqual(
      expect.stringMatching(/^\d+ AUTHENTICATE XOAUTH2 \*\*\*\*$/),
    );
  });

  it('a token the endpoint calls inactive: auth_rejected', async () => {
    const { result } = await runProbe(createImapProbe(), target('at-imap-revoked'));
    expect(outcome(result)).toEqual({ ok: false, code: 'auth_rejected', phase: 'auth' });
    expect(introspection.seen).toContain('at-imap-revoked');
    expect(JSON.stringify(result.transcript)).not.toContain('at-imap-revoked');
  });
});
