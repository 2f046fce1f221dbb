// IMAP XOAUTH2 / OAUTHBEARER against Dovecot's oauth2 passdb, which checks every token at a small
// local introspection endpoint (RFC 7662, introspection_mode = post).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createImapProbe } from '../../src/probes/imap.js';
import type { ProbeTarget } from '../../src/probes/types.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { describeWithPeer } from '../peers/require.js';
import { outcome, runProbe, snapshotHandles, type HandleSnapshot } from './helpers.js';

const USER = 'erin';
const TOKEN = 'at-imap-valid-token';

describeWithPeer('dovecot', 'IMAP OAuth2 against Dovecot oauth2 passdb', () => {
  let dovecot: Dovecot;
  let xoauth2Only: Dovecot;
  let introspection: Server;
  let dir: string;
  const seen: string[] = [];
  let handles: HandleSnapshot;
  beforeEach(() => {
    handles = snapshotHandles();
  });
  afterEach(async () => {
    await handles.assertNoLeak();
  });

  beforeAll(async () => {
    introspection = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('token') ?? '';
        seen.push(token);
        // Connection: close, so Dovecot's HTTP client keeps no socket open here between checks.
        res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify(token === TOKEN ? { active: 'true', username: USER } : { active: 'false' }));
      });
    });
    await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', () => resolve()));
    const { port } = introspection.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'mailmon-oauth2-'));
    const conf = join(dir, 'oauth2.conf.ext');
    writeFileSync(
      conf,
      [
        `introspection_url = http://127.0.0.1:${port}/introspect`,
        'introspection_mode = post',
        'force_introspection = yes',
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const withMechanisms = (mechanisms: string): Promise<Dovecot> =>
      startDovecot({
        users: [{ user: USER, pass: 'password-not-used-here' }],
        extraConf: [
          `auth_mechanisms = plain login ${mechanisms}`,
          'passdb {',
          '  driver = oauth2',
          `  mechanisms = ${mechanisms}`,
          `  args = ${conf}`,
          '}',
        ].join('\n'),
      });
    [dovecot, xoauth2Only] = await Promise.all([
      withMechanisms('xoauth2 oauthbearer'),
      withMechanisms('xoauth2'),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dovecot?.stop(), xoauth2Only?.stop()]);
    introspection?.closeAllConnections();
    await new Promise((resolve) => introspection?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
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
    seen.length = 0;
    const { result } = await runProbe(createImapProbe(), target(TOKEN));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(seen).toEqual([TOKEN]);
    expect(result.transcript.map((l) => l.line)).toContainEqual(
      expect.stringMatching(/^\d+ AUTHENTICATE OAUTHBEARER \*\*\*\*$/),
    );
  });

  it('a server offering only XOAUTH2: logs in with XOAUTH2', async () => {
    seen.length = 0;
    const { result } = await runProbe(createImapProbe(), target(TOKEN, xoauth2Only));
    expect(outcome(result)).toEqual({ ok: true, code: null, phase: null });
    expect(seen).toEqual([TOKEN]);
    expect(result.transcript.map((l) => l.line)).toContainEqual(
      expect.stringMatching(/^\d+ AUTHENTICATE XOAUTH2 \*\*\*\*$/),
    );
  });

  it('a token the endpoint calls inactive: auth_rejected', async () => {
    const { result } = await runProbe(createImapProbe(), target('at-imap-revoked'));
    expect(outcome(result)).toEqual({ ok: false, code: 'auth_rejected', phase: 'auth' });
    expect(seen).toContain('at-imap-revoked');
    expect(JSON.stringify(result.transcript)).not.toContain('at-imap-revoked');
  });
});
