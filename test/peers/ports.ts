// Free TCP ports on 127.0.0.1 for peers that cannot listen on port 0 themselves (Dovecot).
import { createServer, connect, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

function listen0(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

/**
 * `n` distinct ports the kernel just handed out. All are held open together (so they differ) and
 * then released; another process could take one before the caller binds it, which is rare enough
 * on a test machine that the caller's start-up error is the right signal.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, listen0));
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Poll until every port accepts a TCP connection, or reject after `timeoutMs`. */
export async function waitForPorts(host: string, ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await accepts(host, port))) {
      if (Date.now() > deadline)
        throw new Error(`nothing accepted on ${host}:${port} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }
}

/** Read from a fresh connection until the data starts with `prefix` (a server greeting). */
function greets(host: string, port: number, prefix: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let got = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2_000, () => done(false));
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.length >= prefix.length) done(got.startsWith(prefix));
    });
    sock.once('error', () => done(false));
    sock.once('end', () => done(false));
  });
}

/**
 * Poll until the port greets with `prefix` (e.g. '* OK', '220 '). A listening socket accepts TCP
 * before the server's processes are up; a greeting proves they are.
 */
export async function waitForGreeting(
  host: string,
  port: number,
  prefix: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await greets(host, port, prefix))) {
    if (Date.now() > deadline)
      throw new Error(`no "${prefix}" greeting on ${host}:${port} within ${timeoutMs} ms`);
    await sleep(10);
  }
}
