// The smallest IMAP client the lean probe needs: one socket (plain or TLS, upgradable with
// STARTTLS), tagged commands, and the server's lines read one at a time. No literals from the
// server are parsed: the lean exchange (greeting, CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE, LOGOUT)
// only needs the status lines, and a line longer than MAX_LINE_BYTES is a protocol error.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ProbeError } from './errors.js';

export const MAX_LINE_BYTES = 64 * 1024;

/** A tagged reply: status, the [CODE] if any, and the text after it. */
export interface TaggedReply {
  status: 'OK' | 'NO' | 'BAD';
  code: string | undefined;
  text: string;
}

export interface WireEvents {
  /** Every socket as it is created (TCP, TLS, the STARTTLS upgrade), before it connects. */
  onSocket(socket: Socket | TLSSocket): void;
  onClientLine(line: string): void;
  onServerLine(line: string): void;
}

/** Closed by the server (with the BYE text, if it said one) before the reply we waited for. */
export class ServerClosedError extends Error {
  constructor(readonly bye: string | undefined) {
    super(bye ? `server closed the connection: BYE ${bye}` : 'server closed the connection');
    this.name = 'ServerClosedError';
  }
}

export class ImapWire {
  private socket: Socket;
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;
  private bye: string | undefined;
  private tagSeq = 0;
  /** Bytes read from the server, for "only N bytes of a greeting". */
  received = 0;

  private constructor(
    socket: Socket,
    private readonly events: WireEvents,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  static open(
    options: ConnectionOptions & { host: string; port: number; tls: boolean },
    events: WireEvents,
  ): ImapWire {
    const socket = options.tls ? tlsConnect(options) : netConnect({ host: options.host, port: options.port });
    events.onSocket(socket);
    return new ImapWire(socket, events);
  }

  private attach(socket: Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err: Error) => this.fail(err));
    socket.on('close', () => this.fail(new ServerClosedError(this.bye)));
  }

  private onData(chunk: string): void {
    this.received += chunk.length;
    this.buffer += chunk;
    let eol: number;
    while ((eol = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, eol).replace(/\r$/, '');
      this.buffer = this.buffer.slice(eol + 1);
      const text = Buffer.from(line, 'latin1').toString('utf8');
      this.events.onServerLine(text);
      const bye = /^\* BYE\s?(.*)$/i.exec(text);
      if (bye) this.bye = bye[1] ?? '';
      this.push(text);
    }
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.fail(
        new ProbeError('protocol_error', 'greeting', `server line longer than ${MAX_LINE_BYTES} bytes`),
      );
      this.socket.destroy();
    }
  }

  private push(line: string): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve(line);
    } else this.lines.push(line);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }

  /** The next server line (CRLF stripped). Rejects once the socket failed or closed. */
  readLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Send `command` (without tag and CRLF); `logged` is what the transcript shows instead. */
  send(command: string, logged = command): string {
    const tag = `a${++this.tagSeq}`;
    this.events.onClientLine(`${tag} ${logged}`);
    this.socket.write(`${tag} ${command}\r\n`, 'utf8');
    return tag;
  }

  /** A continuation line (a SASL response) for the command in progress. */
  sendContinuation(data: string, logged: string): void {
    this.events.onClientLine(logged);
    this.socket.write(`${data}\r\n`, 'utf8');
  }

  /**
   * Reads until the tagged reply to `tag`; `onUntagged` sees the lines before it, `onContinue` each
   * "+" continuation request (it must answer with sendContinuation).
   */
  async reply(
    tag: string,
    onUntagged: (line: string) => void = () => undefined,
    onContinue?: (text: string) => void,
  ): Promise<TaggedReply> {
    for (;;) {
      const line = await this.readLine();
      if (line.startsWith(`${tag} `)) return parseTagged(line.slice(tag.length + 1));
      if (line.startsWith('+')) {
        if (!onContinue) throw new ProbeError('protocol_error', 'auth', 'unexpected continuation request');
        onContinue(line.slice(1).trim());
      } else onUntagged(line);
    }
  }

  /**
   * STARTTLS's second half: TLS over the same TCP connection, resolved once the handshake is done.
   * Anything the server sent after its OK, before the handshake, is an injection attempt.
   */
  async upgrade(options: ConnectionOptions): Promise<void> {
    if (this.lines.length > 0 || this.buffer.length > 0) {
      throw new ProbeError(
        'tls_handshake_failed',
        'starttls',
        'server sent data right after STARTTLS (possible injection)',
      );
    }
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    // The TLS socket reports the connection's errors from now on; this keeps a late error on the
    // plain socket from becoming an unhandled 'error' event.
    plain.on('error', () => undefined);
    const secure = tlsConnect({ ...options, socket: plain });
    this.events.onSocket(secure);
    this.socket = secure;
    this.attach(secure);
    await new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const waiter = { resolve: (line: string) => this.lines.unshift(line), reject };
      this.waiter = waiter;
      secure.once('secureConnect', () => {
        if (this.waiter === waiter) this.waiter = undefined;
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export function parseTagged(rest: string): TaggedReply {
  const m = /^(OK|NO|BAD)\b\s*(?:\[([^\]]*)\])?\s*(.*)$/i.exec(rest);
  if (!m) throw new ProbeError('protocol_error', 'auth', `unparseable tagged reply: ${rest.slice(0, 80)}`);
  return {
    status: m[1]!.toUpperCase() as TaggedReply['status'],
    code: m[2]?.split(' ')[0]?.toUpperCase(),
    text: m[3] ?? '',
  };
}

/** Capabilities from a "[CAPABILITY ...]" response code or a "* CAPABILITY ..." line. */
export function capabilitiesIn(line: string): Set<string> | undefined {
  const m = /^\* (?:OK|PREAUTH)\s+\[CAPABILITY ([^\]]*)\]/i.exec(line) ?? /^\* CAPABILITY (.*)$/i.exec(line);
  return m ? new Set(m[1]!.trim().toUpperCase().split(/\s+/)) : undefined;
}

/** An IMAP string for LOGIN: quoted when it can be, else a literal (the caller needs LITERAL+ or a continuation). */
export function quoted(value: string): string | undefined {
  if (/[\r\n\0]/.test(value) || /[^\x20-\x7e]/.test(value)) return undefined;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
