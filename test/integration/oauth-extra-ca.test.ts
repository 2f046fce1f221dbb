// tls.extraCaFile is trusted by OAuth2 token refreshes too, through the daemon's own wiring
// (config → core → checker → refresh): an in-house identity provider signed by the internal CA
// works with it configured, and without it the refresh fails on the certificate, naming it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { makeCanary } from '../helpers/canary.js';
import { testCore, type LogCapture } from '../helpers/core.js';
import { sqliteTestDb, type TestDb } from '../helpers/databases.js';
import { testCerts } from '../peers/certs.js';
import { startSmtpServer, type TestSmtpServer } from '../peers/smtp.js';
import { xoauth2SmtpOptions } from './oauth-peers.js';
import { startTokenEndpoint, type TokenEndpoint } from './oauth-token-endpoint.js';

const USER = 'ines';
const CLIENT_ID = 'mailmon-extra-ca-client';

describe('OAuth2 token endpoint signed by the tls.extraCaFile CA', () => {
  const clientSecret = makeCanary('extra-ca-client-secret');
  let dir: string;
  let db: TestDb;
  let idp: TokenEndpoint;
  let smtp: TestSmtpServer;
  const cores: { core: Core; logs: LogCapture }[] = [];

  beforeAll(async () => {
    const certs = await testCerts();
    dir = mkdtempSync(join(tmpdir(), 'mailmon-extra-ca-'));
    writeFileSync(join(dir, 'internal-ca.pem'), certs.caPem);
    idp = await startTokenEndpoint({
      clientId: CLIENT_ID,
      clientSecret: clientSecret.secret,
      now: () => new Date(),
      tls: { certPem: certs.valid.certPem, keyPem: certs.valid.keyPem },
    });
    [db, smtp] = await Promise.all([sqliteTestDb(), startSmtpServer(xoauth2SmtpOptions(idp))]);
  });
  afterAll(async () => {
    for (const { core } of cores) await core.close();
    await Promise.all([db?.cleanup(), idp?.close(), smtp?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A core (with or without the extra CA) and one OAuth2 SMTP account holding only a refresh token. */
  const setUp = async (extraCa: boolean) => {
    const opened = await testCore(db.url, extraCa ? { 'tls.extraCaFile': join(dir, 'internal-ca.pem') } : {});
    cores.push(opened);
    const refreshToken = makeCanary('extra-ca-refresh');
    idp.grant(refreshToken.secret, USER);
    const [id] = (await opened.core.repo.saveAccounts([
      {
        emailAddress: `${USER}@example.test`,
        associateId: 0,
        incoming: null,
        outgoing: {
          server: '127.0.0.1',
          port: smtp.port,
          authType: 'oauth2',
          username: USER,
          password: '',
          security: 'starttls',
          acceptUnverifiedCert: false,
          caPem: smtp.caPem,
          oauth: {
            tokenUrl: `${idp.url}/token`,
            clientId: CLIENT_ID,
            clientSecret: clientSecret.secret,
            refreshToken: refreshToken.secret,
            scope: null,
          },
        },
      },
    ])) as [number];
    const report = await opened.core.checker.check(id, { signal: new AbortController().signal });
    return { report, logs: opened.logs, refreshToken };
  };

  it('with the CA configured, the refresh succeeds and the SMTP login with the new token passes', async () => {
    const before = idp.tokenRequests.length;
    const { report } = await setUp(true);
    expect(report?.results.map((r) => [r.protocol, r.ok, r.code])).toEqual([['smtp', true, null]]);
    expect(idp.tokenRequests.slice(before).map((r) => r.status)).toEqual([200]);
  });

  it('without it, the refresh fails on the untrusted certificate before any token request', async () => {
    const before = idp.tokenRequests.length;
    const { report, logs, refreshToken } = await setUp(false);
    const [result] = report?.results ?? [];
    expect(result).toMatchObject({ ok: false, code: 'oauth_endpoint_unreachable', phase: 'auth' });
    expect(result?.reason).toMatch(/certificate/i);
    expect(idp.tokenRequests.length).toBe(before);
    for (const secret of [refreshToken.secret, clientSecret.secret]) {
      expect(JSON.stringify(report)).not.toContain(secret);
      expect(logs.text).not.toContain(secret);
    }
  });
});
