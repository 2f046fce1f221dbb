// The egress policy over real HTTP, with the default policy (loopback NOT allowed): every spelling of
// a loopback address, and names that resolve to one, are refused on every test endpoint with the
// rule and the config key in the answer, while listeners on 127.0.0.1 and ::1 prove that not one
// connection was made. A control server with loopback allowed shows the listeners do count.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookupAll } from '../../src/egress/resolver.js';
import {
  LOOPBACK_EMBEDDED_SPELLINGS,
  LOOPBACK_V4_SPELLINGS,
  LOOPBACK_V6_SPELLINGS,
} from '../egress/spellings.js';
import { expectNoSecrets, startApi, type ApiServer } from './helpers.js';

const PASSWORD = 'Egress-Canary-pw-5c2e';

interface Listener {
  server: net.Server;
  accepted: number;
  sockets: Set<net.Socket>;
}

async function listen(host: string, port: number): Promise<Listener> {
  const listener: Listener = { server: net.createServer(), accepted: 0, sockets: new Set() };
  listener.server.on('connection', (socket) => {
    listener.accepted += 1;
    listener.sockets.add(socket);
    socket.on('close', () => listener.sockets.delete(socket));
    socket.end();
  });
  listener.server.listen(port, host);
  await once(listener.server, 'listening');
  return listener;
}

async function close(listener: Listener | undefined): Promise<void> {
  if (!listener) return;
  for (const socket of listener.sockets) socket.destroy();
  await new Promise<void>((resolve) => listener.server.close(() => resolve()));
}

/** A hostile resolver: names that resolve to loopback, as a rebinding attacker's DNS would answer. */
const lookup: LookupAll = async (hostname) => {
  const zone: Record<string, string[]> = {
    'mail.rebind.test': ['127.0.0.1'],
    'v6.rebind.test': ['::1'],
    'mixed.rebind.test': ['192.0.2.10', '127.0.0.1'],
  };
  const addresses = zone[hostname];
  if (!addresses) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const HOSTILE_NAMES = ['mail.rebind.test', 'v6.rebind.test', 'mixed.rebind.test'];
const HOSTS = [
  ...LOOPBACK_V4_SPELLINGS,
  ...LOOPBACK_V6_SPELLINGS,
  ...LOOPBACK_EMBEDDED_SPELLINGS,
  ...HOSTILE_NAMES,
];

describe('egress policy over HTTP (loopback not allowed)', () => {
  let api: ApiServer;
  let v4: Listener;
  let v6: Listener;
  let port: number;

  beforeAll(async () => {
    v4 = await listen('127.0.0.1', 0);
    port = (v4.server.address() as net.AddressInfo).port;
    v6 = await listen('::1', port);
    // The default policy, except that any port may be dialled, so the address rule is what refuses.
    api = await startApi({ lookup, overrides: { 'egress.allowCidrs': [], 'egress.allowedPorts': null } });
  });
  afterAll(async () => {
    expectNoSecrets(api?.bodies ?? [], [PASSWORD]);
    await api?.close();
    await Promise.all([close(v4), close(v6)]);
  });

  const connections = () => v4.accepted + v6.accepted;
  const refusal = expect.stringMatching(/egress.*is loopback.*egress\.allowCidrs/);
  const sideFor = (host: string) => ({
    server: host,
    port,
    security: 'tls',
    username: 'alice',
    password: PASSWORD,
  });

  it('POST /api/v1/test: every loopback spelling and hostile name is refused, naming the rule', async () => {
    for (const host of HOSTS) {
      const res = await api.request('POST', '/api/v1/test', { body: { incoming: sideFor(host) } });
      expect(res.status, host).toBe(200);
      expect(res.json, host).toMatchObject({
        ok: false,
        sides: [{ code: 'egress_denied', phase: 'dns', reason: refusal }],
      });
    }
    await expectNoConnections();
  });

  it('a stored account aimed at loopback is refused at test time and goes Failing with the rule as reason', async () => {
    const created = await api.request('POST', '/api/v1/accounts', {
      body: { emailAddress: 'loop@example.test', outgoing: sideFor('127.1') },
    });
    expect(created.status).toBe(201);
    const res = await api.request('POST', `/api/v1/accounts/${created.json.id}/test`);
    expect(res.json.sides[0]).toMatchObject({ code: 'egress_denied', reason: refusal });
    expect(res.json.account).toMatchObject({ status: 'Failing', errorReason: refusal });
    await expectNoConnections();
  });

  it('the compatible test endpoints are refused the same way', async () => {
    for (const host of ['0x7f000001', '[::1]', '::ffff:7f00:1', 'mail.rebind.test']) {
      const uriHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
      const so = await api.request('POST', '/api/v1/Agents/CustomerService/TestSmtpServer', {
        body: {
          SmtpUri: `smtps://alice:${encodeURIComponent(PASSWORD)}@${uriHost}:${port}`,
          From: '',
          UseStoredPassword: false,
        },
      });
      expect(so.json, host).toMatchObject({ Success: false, ErrorMessage: refusal });

      const oracle = await api.request('POST', '/ccadmin/v1/email/test', {
        body: {
          emailSMTPHost: host,
          emailSMTPPort: String(port),
          emailSMTPAuthMethod: 'SSL',
          emailSMTPUsername: 'alice',
          emailSMTPPassword: PASSWORD,
        },
      });
      expect(oracle.json, host).toEqual({ status: false });

      const dealer = await api.request(
        'POST',
        '/dealers/0b7f6a4e-3c2d-4e1f-9a8b-7c6d5e4f3a2b/email-credentials/test',
        {
          body: {
            emailCredentialsRequests: [
              {
                smtpHost: host,
                smtpPort: String(port),
                smtpUserID: 'alice',
                smtpPassword: PASSWORD,
                smtpUseAuth: 'true',
                smtpUseSSLOrTLS: 'true',
                smtpEnableStartTLS: 'false',
                imapHost: host,
                imapPort: String(port),
                imapUserID: 'alice',
                imapPassword: PASSWORD,
                imapUseSSLOrTLS: 'true',
                imapEnableStartTLS: 'false',
              },
            ],
          },
        },
      );
      const entry = dealer.json.emailCredentialsResponses[0];
      expect(entry.outcome, host).toBe('FAILURE');
      expect(JSON.stringify(entry), host).toMatch(/is loopback/);
    }
    await expectNoConnections();
  });

  /**
   * Barrier: one connection of our own after the refusals. Once it has arrived, any connection a
   * refused probe had started would have arrived before it. So far only barriers may have connected.
   */
  let barriers = 0;
  async function expectNoConnections(): Promise<void> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.destroy();
    barriers += 1;
    const deadline = Date.now() + 2000;
    while (v4.accepted < barriers && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(v4.accepted).toBe(barriers);
    expect(v6.accepted).toBe(0);
  }

  it('control: with loopback allowed the same requests reach the listeners', async () => {
    const open = await startApi({ lookup, overrides: { 'egress.allowedPorts': null } });
    try {
      const before = connections();
      for (const host of ['0x7f000001', '::1', 'mail.rebind.test']) {
        const res = await open.request('POST', '/api/v1/test', { body: { incoming: sideFor(host) } });
        expect(res.json.sides[0].code, host).not.toBe('egress_denied');
      }
      expect(connections() - before).toBe(3);
    } finally {
      await open.close();
    }
  });
});
