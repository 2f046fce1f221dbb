// Smoke tests for the test-peer helpers: each helper starts a real server that real clients use.
import { existsSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { ImapFlow } from 'imapflow';
import mysql from 'mysql2/promise';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCerts, type CertKind } from './certs.js';
import { startDovecot, type Dovecot } from './dovecot.js';
import { createTestDatabase } from './mariadb.js';
import { describeWithPeer, peerSuiteMode } from './require.js';
import { pidsMentioning } from './run-scope.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';

const ALICE = { user: 'alice@example.test', pass: 'correct horse:battery' };

function imapClient(d: Dovecot, mode: 'tls' | 'starttls', pass: string): ImapFlow {
  return new ImapFlow({
    host: d.host,
    port: mode === 'tls' ? d.imapsPort : d.imapPort,
    secure: mode === 'tls',
    doSTARTTLS: mode === 'starttls' ? true : undefined,
    auth: { user: ALICE.user, pass },
    tls: { ca: [d.caPem] },
    logger: false,
  });
}

/** connect + open INBOX + logout; returns the message count and elapsed ms. */
async function imapLogin(d: Dovecot, mode: 'tls' | 'starttls', pass = ALICE.pass) {
  const client = imapClient(d, mode, pass);
  const t0 = performance.now();
  try {
    await client.connect();
    const box = await client.mailboxOpen('INBOX');
    await client.logout();
    return { exists: box.exists, ms: performance.now() - t0 };
  } finally {
    client.close(); // after a failed connect the socket would otherwise linger
  }
}

describeWithPeer('dovecot', 'startDovecot', () => {
  let sink: TestSmtpServer;
  let dovecot: Dovecot;
  beforeAll(async () => {
    sink = await startSmtpServer({ users: [], authOptional: true });
    dovecot = await startDovecot({ users: [ALICE], submission: { relayPort: sink.port } });
  });
  afterAll(async () => {
    await dovecot?.stop();
    await sink?.stop();
  });

  it('logs in over implicit TLS and over STARTTLS, trusting only the test CA', async () => {
    await dovecot.deliver(ALICE.user, 'From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n');
    expect((await imapLogin(dovecot, 'tls')).exists).toBe(1);
    expect((await imapLogin(dovecot, 'starttls')).exists).toBe(1);
  });

  it('rejects a wrong password, and the next good login is still fast (no anvil penalty)', async () => {
    await expect(imapLogin(dovecot, 'tls', 'wrong')).rejects.toMatchObject({ authenticationFailed: true });
    await expect(imapLogin(dovecot, 'starttls', 'wrong')).rejects.toMatchObject({
      authenticationFailed: true,
    });
    // With anvil's penalty active this takes 4-15 s; measured here: 20-60 ms.
    const { ms } = await imapLogin(dovecot, 'tls');
    expect(ms).toBeLessThan(1_000);
  });

  it('relays a message sent through submission to the sink', async () => {
    const transport = nodemailer.createTransport({
      host: dovecot.host,
      port: dovecot.submissionPort,
      secure: false,
      requireTLS: true,
      auth: { user: ALICE.user, pass: ALICE.pass },
      tls: { ca: [dovecot.caPem] },
    });
    try {
      await transport.sendMail({ from: ALICE.user, to: 'bob@example.test', subject: 'relay', text: 'x' });
    } finally {
      transport.close();
    }
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]).toMatchObject({ from: ALICE.user, to: ['bob@example.test'] });
    expect(sink.messages[0]!.data).toContain('Subject: relay');
  });

  it('round trip: smtp-server onMessage delivers into Dovecot, IMAP sees it', async () => {
    const relay = await startSmtpServer({
      users: [ALICE],
      onMessage: (m) => dovecot.deliver(ALICE.user, m.data),
    });
    const transport = nodemailer.createTransport({
      host: relay.host,
      port: relay.port,
      requireTLS: true,
      auth: { user: ALICE.user, pass: ALICE.pass },
      tls: { ca: [relay.caPem] },
    });
    try {
      await dovecot.expungeAll(ALICE.user);
      await transport.sendMail({ from: ALICE.user, to: ALICE.user, subject: 'round trip', text: 'x' });
      expect((await imapLogin(dovecot, 'tls')).exists).toBe(1);
    } finally {
      transport.close();
      await relay.stop();
    }
  });
});

describeWithPeer('dovecot', 'startDovecot options and stop()', () => {
  it('serves the chosen certificate: wrongname fails verification against the test CA', async () => {
    const d = await startDovecot({ users: [ALICE], cert: 'wrongname' });
    try {
      await expect(imapLogin(d, 'tls')).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      await d.stop();
    }
  });

  it('stop() ends every Dovecot process of the instance and removes its dir; a second stop() is a no-op', async () => {
    const d = await startDovecot({ users: [ALICE], extraConf: 'mail_max_userip_connections = 3' });
    expect(pidsMentioning(d.confPath)).toHaveLength(1);
    await Promise.all([d.stop(), d.stop()]);
    expect(pidsMentioning(d.confPath)).toEqual([]);
    expect(existsSync(d.dir)).toBe(false);
    await d.stop();
  });

  it("reports a bad extraConf with Dovecot's own message", async () => {
    await expect(startDovecot({ users: [ALICE], extraConf: 'no_such_setting = 1' })).rejects.toThrow(
      /no_such_setting/,
    );
  });
});

describe('startSmtpServer', () => {
  const users = [{ user: 'carol', pass: 's3cret' }];
  let starttls: TestSmtpServer;
  let implicit: TestSmtpServer;
  beforeAll(async () => {
    starttls = await startSmtpServer({ users, oauthTokens: { carol: 'tok-ok' } });
    implicit = await startSmtpServer({ users, secure: true });
  });
  afterAll(async () => {
    await starttls?.stop();
    await implicit?.stop();
  });

  const verify = (
    s: TestSmtpServer,
    auth: { user: string; pass?: string; accessToken?: string; type?: 'OAuth2' },
  ) => {
    const transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: !s.secure,
      auth,
      tls: { ca: [s.caPem] },
    });
    return transport.verify().finally(() => transport.close());
  };

  it('accepts good credentials (STARTTLS and implicit TLS) and rejects bad ones with 535', async () => {
    await expect(verify(starttls, users[0]!)).resolves.toBe(true);
    await expect(verify(implicit, users[0]!)).resolves.toBe(true);
    await expect(verify(starttls, { user: 'carol', pass: 'nope' })).rejects.toMatchObject({
      code: 'EAUTH',
      responseCode: 535,
    });
    expect(starttls.authAttempts.map((a) => a.ok)).toEqual([true, false]);
  });

  it('checks XOAUTH2 tokens', async () => {
    await expect(verify(starttls, { type: 'OAuth2', user: 'carol', accessToken: 'tok-ok' })).resolves.toBe(
      true,
    );
    await expect(
      verify(starttls, { type: 'OAuth2', user: 'carol', accessToken: 'tok-bad' }),
    ).rejects.toMatchObject({ code: 'EAUTH' });
  });
});

describeWithPeer('mariadb', 'createTestDatabase', () => {
  it('creates a usable database and drops it', async () => {
    const db = await createTestDatabase();
    const conn = await mysql.createConnection({ uri: db.url });
    try {
      await conn.query('CREATE TABLE t (id INT PRIMARY KEY)');
      await conn.query('INSERT INTO t VALUES (1)');
      const [rows] = await conn.query('SELECT COUNT(*) AS n FROM t');
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await conn.end();
    }
    await db.drop();
    const check = await mysql.createConnection({ uri: db.url.slice(0, db.url.lastIndexOf('/')) });
    try {
      const [rows] = await check.query('SHOW DATABASES LIKE ?', [db.name]);
      expect(rows).toEqual([]);
    } finally {
      await check.end();
    }
  });
});

describe('test certificates', () => {
  /** TLS-connect to a server using `kind`, trusting only the test CA; resolve the error code or 'ok'. */
  async function handshake(kind: CertKind): Promise<string> {
    const server = await startSmtpServer({ users: [], secure: true, cert: kind });
    const { caPem } = await testCerts();
    try {
      return await new Promise<string>((resolve) => {
        const sock = tlsConnect({ host: server.host, port: server.port, ca: [caPem] });
        sock.once('secureConnect', () => {
          sock.destroy();
          resolve('ok');
        });
        sock.once('error', (err: NodeJS.ErrnoException) => {
          sock.destroy();
          resolve(err.code ?? err.message);
        });
      });
    } finally {
      await server.stop();
    }
  }

  it.each([
    ['valid', 'ok'],
    ['expired', 'CERT_HAS_EXPIRED'],
    ['wrongname', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['selfsigned', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  ] as const)('%s certificate -> %s', async (kind, expected) => {
    expect(await handshake(kind)).toBe(expected);
  });
});

describe('peerSuiteMode', () => {
  it.each([
    [true, false, 'run'],
    [true, true, 'run'],
    [false, false, 'skip'],
    [false, true, 'fail'],
  ] as const)('available=%s ci=%s -> %s', (available, ci, mode) => {
    expect(peerSuiteMode(available, ci)).toBe(mode);
  });
});
