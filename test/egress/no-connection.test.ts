// Proves a refusal happens before any socket: a real listener on 127.0.0.1 and on ::1 counts every
// connection while a probe-like client tries every loopback spelling through the resolver.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EGRESS_CONFIG, type EgressConfig } from '../../src/egress/config.js';
import { createEgressResolver, type EgressResolver, type LookupAll } from '../../src/egress/resolver.js';
import { ProbeError } from '../../src/probes/errors.js';
import { LOOPBACK_EMBEDDED_SPELLINGS, LOOPBACK_V4_SPELLINGS, LOOPBACK_V6_SPELLINGS } from './spellings.js';

interface Listener {
  server: net.Server;
  port: number;
  accepted: number;
  sockets: Set<net.Socket>;
}

async function listen(host: string, port = 0): Promise<Listener> {
  const listener: Listener = { server: net.createServer(), port: 0, accepted: 0, sockets: new Set() };
  listener.server.on('connection', (socket) => {
    listener.accepted += 1;
    listener.sockets.add(socket);
    socket.on('close', () => listener.sockets.delete(socket));
    socket.end();
  });
  listener.server.listen(port, host);
  await once(listener.server, 'listening');
  listener.port = (listener.server.address() as net.AddressInfo).port;
  return listener;
}

async function close(listener: Listener | undefined): Promise<void> {
  if (!listener) return;
  for (const socket of listener.sockets) socket.destroy();
  await new Promise<void>((resolve) => listener.server.close(() => resolve()));
}

/** What a probe does: resolve once through the egress resolver, then connect to exactly that IP. */
async function connectVia(resolver: EgressResolver, host: string, port: number): Promise<void> {
  const ip = await resolver(host, port, new AbortController().signal);
  const socket = net.connect({ host: ip, port });
  // Bounded, so a regression (e.g. dialling an IPv4-compatible address) fails fast instead of hanging.
  socket.setTimeout(1000, () => socket.destroy(new Error(`connect to ${ip} timed out`)));
  try {
    await once(socket, 'connect');
  } finally {
    socket.destroy();
  }
}

/** Names that resolve to loopback, as a rebinding attacker's DNS would answer. */
const hostile: LookupAll = async (hostname) => {
  const zone: Record<string, string[]> = {
    'v4.rebind.test': ['127.0.0.1'],
    'v6.rebind.test': ['::1'],
    'mapped.rebind.test': ['::ffff:127.0.0.1'],
    'both.rebind.test': ['::1', '127.0.0.1'],
  };
  const addresses = zone[hostname];
  if (!addresses) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const HOSTILE_NAMES = ['v4.rebind.test', 'v6.rebind.test', 'mapped.rebind.test', 'both.rebind.test'];

describe('a refused target receives no connection', () => {
  let v4: Listener | undefined;
  let v6: Listener | undefined;

  beforeAll(async () => {
    v4 = await listen('127.0.0.1');
    // Same port on ::1, so every spelling of either loopback reaches one of the two listeners.
    v6 = await listen('::1', v4.port);
  });

  afterAll(async () => {
    await close(v4);
    await close(v6);
  });

  const anyPort: EgressConfig = { ...DEFAULT_EGRESS_CONFIG, allowedPorts: null };
  const reachable = [...LOOPBACK_V4_SPELLINGS, ...LOOPBACK_V6_SPELLINGS, ...HOSTILE_NAMES];

  it('the listeners count connections (control: with loopback allowed, every spelling connects)', async () => {
    const open = createEgressResolver({ ...anyPort, allowCidrs: ['127.0.0.0/8', '::1/128'] }, hostile);
    const before = v4!.accepted + v6!.accepted;
    for (const host of reachable) await connectVia(open, host, v4!.port);
    await waitFor(() => v4!.accepted + v6!.accepted === before + reachable.length);
  });

  it('by default, no loopback spelling and no name resolving to loopback connects', async () => {
    const resolver = createEgressResolver(anyPort, hostile);
    const before = { v4: v4!.accepted, v6: v6!.accepted };
    const outcomes = new Map<string, unknown>();
    for (const host of [...reachable, ...LOOPBACK_EMBEDDED_SPELLINGS]) {
      outcomes.set(
        host,
        await connectVia(resolver, host, v4!.port).then(
          () => 'connected',
          (e: unknown) => e,
        ),
      );
    }
    // Barrier: one allowed connection after the refusals. Once it has arrived, any connection a
    // refused attempt had started would have arrived before it.
    const barrier = createEgressResolver({ ...anyPort, allowCidrs: ['127.0.0.1'] }, hostile);
    await connectVia(barrier, '127.0.0.1', v4!.port);
    await waitFor(() => v4!.accepted > before.v4);
    expect(v4!.accepted - before.v4).toBe(1); // the barrier's, nothing else
    expect(v6!.accepted - before.v6).toBe(0);
    for (const [host, outcome] of outcomes) {
      expect(outcome, host).toBeInstanceOf(ProbeError);
      expect(outcome, host).toMatchObject({
        code: 'egress_denied',
        message: expect.stringMatching(/is loopback/),
      });
    }
  });
});

/** Poll a condition while letting I/O run; fails the test if it is not true within 2 s. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}
