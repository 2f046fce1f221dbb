// Small servers that misbehave in one specific way each, for the probes' failure taxonomy. Plain TCP
// on 127.0.0.1 port 0 (optionally wrapped in TLS), speaking just enough IMAP or SMTP to reach the
// misbehaviour. close() destroys every connection and the listener, and clears the drip timers.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createInterface } from 'node:readline';

export type Misbehaviour =
  /** accept TCP, never send a byte */
  | 'silent'
  /** greet, then never answer a command */
  | 'greet-then-hang'
  /** greet, then close the connection */
  | 'close-after-greeting'
  /** SMTP "421 4.3.2 ..." / IMAP "* BYE ..." as the greeting, then close */
  | 'reject-greeting'
  /** SMTP only: greet, then 5xx to EHLO and HELO */
  | 'reject-ehlo'
  /** bytes that are neither TLS nor the protocol (an HTTP error page) */
  | 'garbage'
  /** the greeting, one byte every `dripMs` */
  | 'drip'
  /** a normal server that does not offer STARTTLS (and refuses it if asked) */
  | 'no-starttls'
  /** a small but correct server: multi-line SMTP greeting and EHLO without "ESMTP"; IMAP greeting without capabilities */
  | 'minimal';

export interface MisbehavingOptions {
  protocol: 'imap' | 'smtp';
  /** Wrap connections in TLS with this certificate (implicit TLS). */
  tls?: { certPem: string; keyPem: string };
  /** For 'drip': milliseconds between bytes (default 200). */
  dripMs?: number;
  /** For 'minimal': the one password accepted for any user (default "pw"). */
  password?: string;
  /** For 'minimal': a careless server that quotes the refused password (and its base64) in its reply. */
  echoCredentials?: boolean;
  /** For 'reject-greeting': the refusal line sent instead of the default (without CRLF). */
  greeting?: string;
}

export interface MisbehavingServer {
  host: '127.0.0.1';
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const GREETING = {
  imap: '* OK mailmon test server ready\r\n',
  smtp: '220 test.invalid mailmon test server ready\r\n',
};

/** Start a server that misbehaves as `kind` on 127.0.0.1 (a free port). */
export async function startMisbehaving(
  kind: Misbehaviour,
  opts: MisbehavingOptions,
): Promise<MisbehavingServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let accepted = 0;
  const onSocket = (socket: Socket): void => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    behave(kind, socket, opts, timers);
  };
  const server: Server = opts.tls
    ? createTlsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, onSocket)
    : createServer(onSocket);
  if (opts.tls) server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  return {
    host: '127.0.0.1',
    port: address.port,
    connections: () => accepted,
    close: async () => {
      for (const t of timers) clearInterval(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function behave(
  kind: Misbehaviour,
  socket: Socket,
  opts: MisbehavingOptions,
  timers: Set<NodeJS.Timeout>,
): void {
  const greeting = GREETING[opts.protocol];
  switch (kind) {
    case 'silent':
      return;
    case 'greet-then-hang':
      socket.write(greeting);
      return;
    case 'close-after-greeting':
      socket.end(greeting);
      return;
    case 'reject-greeting':
      socket.end(
        opts.greeting !== undefined
          ? `${opts.greeting}\r\n`
          : opts.protocol === 'smtp'
            ? '421 4.3.2 Too busy, try again later\r\n'
            : '* BYE Too many connections from your IP\r\n',
      );
      return;
    case 'garbage':
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    case 'drip': {
      let i = 0;
      const timer = setInterval(() => {
        if (i >= greeting.length - 2 || socket.destroyed) return; // never complete the line
        socket.write(greeting[i++]!);
      }, opts.dripMs ?? 200);
      timers.add(timer);
      socket.on('close', () => {
        clearInterval(timer);
        timers.delete(timer);
      });
      return;
    }
    case 'reject-ehlo':
    case 'no-starttls':
    case 'minimal':
      if (opts.protocol === 'smtp') smtpDialogue(kind, socket, opts);
      else imapDialogue(kind, socket, opts);
      return;
  }
}

function lines(socket: Socket, onLine: (line: string) => void): void {
  createInterface({ input: socket, crlfDelay: Infinity }).on('line', onLine);
}

function refusal(opts: MisbehavingOptions, tried: string, raw: string): string {
  return opts.echoCredentials ? ` for password "${tried}" (${raw})` : '';
}

function smtpDialogue(kind: Misbehaviour, socket: Socket, opts: MisbehavingOptions): void {
  const password = opts.password ?? 'pw';
  const answer = (raw: string): string => {
    const tried = Buffer.from(raw, 'base64').toString('utf8').split('\u0000')[2] ?? '';
    return tried === password
      ? '235 2.7.0 Authentication successful\r\n'
      : `535 5.7.8 Authentication failed${refusal(opts, tried, raw)}\r\n`;
  };
  // 'minimal': a multi-line greeting and a multi-line EHLO reply, neither saying "ESMTP".
  socket.write(
    kind === 'minimal'
      ? '220-test.invalid mail service\r\n220-second greeting line\r\n220 ready\r\n'
      : GREETING.smtp,
  );
  let authPlain = false;
  lines(socket, (line) => {
    if (authPlain) {
      authPlain = false;
      socket.write(answer(line));
      return;
    }
    const verb = line.split(' ')[0]!.toUpperCase();
    if (verb === 'EHLO' || verb === 'HELO') {
      if (kind === 'reject-ehlo') socket.write('554 5.7.1 Your client is not welcome here\r\n');
      else
        socket.write('250-test.invalid greets you\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n');
    } else if (verb === 'STARTTLS') {
      socket.write('502 5.5.1 STARTTLS not available\r\n');
    } else if (verb === 'AUTH') {
      const initial = line.split(' ')[2];
      if (initial === undefined) {
        authPlain = true;
        socket.write('334 \r\n');
      } else {
        socket.write(answer(initial));
      }
    } else if (verb === 'QUIT') {
      socket.end('221 2.0.0 Bye\r\n');
    } else {
      socket.write('502 5.5.2 Command not implemented\r\n');
    }
  });
}

function imapDialogue(kind: Misbehaviour, socket: Socket, opts: MisbehavingOptions): void {
  const password = opts.password ?? 'pw';
  // No capabilities in the greeting: the client has to ask. No STARTTLS and no AUTH=: LOGIN only.
  socket.write(GREETING.imap);
  const caps = 'IMAP4rev1';
  void kind;
  lines(socket, (line) => {
    const [tag, rawVerb, ...args] = line.split(' ');
    const verb = (rawVerb ?? '').toUpperCase();
    if (verb === 'CAPABILITY') {
      socket.write(`* CAPABILITY ${caps}\r\n${tag} OK done\r\n`);
    } else if (verb === 'STARTTLS') {
      socket.write(`${tag} BAD STARTTLS not supported\r\n`);
    } else if (verb === 'LOGIN') {
      const pass = (args[1] ?? '').replace(/^"|"$/g, '');
      const b64 = Buffer.from(pass).toString('base64');
      socket.write(
        pass === password
          ? `${tag} OK Logged in\r\n`
          : `${tag} NO [AUTHENTICATIONFAILED] Authentication failed${refusal(opts, pass, b64)}.\r\n`,
      );
    } else if (verb === 'NAMESPACE') {
      socket.write(`* NAMESPACE (("" ".")) NIL NIL\r\n${tag} OK done\r\n`);
    } else if (verb === 'LIST' || verb === 'LSUB') {
      socket.write(`${tag} OK done\r\n`);
    } else if (verb === 'EXAMINE' || verb === 'SELECT') {
      socket.write(
        `* FLAGS (\\Seen)\r\n* 0 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n${tag} OK [READ-ONLY] done\r\n`,
      );
    } else if (verb === 'LOGOUT') {
      socket.end(`* BYE bye\r\n${tag} OK done\r\n`);
    } else {
      socket.write(`${tag} BAD unknown command\r\n`);
    }
  });
}

export interface BlackholePort {
  host: '127.0.0.1';
  /** A port where TCP connects hang: the listener never accepts and its backlog is full. */
  port: number;
  close(): Promise<void>;
}

/**
 * A port on 127.0.0.1 where a TCP connect neither succeeds nor is refused, for connect timeouts.
 * A child Node process listens with a backlog of 1 and then blocks its event loop, so it never
 * accepts; two connections fill the accept queue and the kernel drops every later SYN.
 */
export async function startBlackhole(): Promise<BlackholePort> {
  const code = [
    "const s = require('net').createServer();",
    "s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {",
    "  process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));",
    '});',
  ].join('\n');
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    fillers.push(s);
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  }
  return {
    host: '127.0.0.1',
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (connection refused). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
  return addr.port;
}
