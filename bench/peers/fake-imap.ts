// A tiny IMAP server over implicit TLS that answers every command at once, for sweeps whose limit
// should be mailmon rather than the server (the 100,000-account run) and for the wrong-password
// row against a server that refuses at once. Speaks just what imapflow and the lean probe send.
// Run as its own process (`node fake-imap.js CERT KEY`), so its CPU is not mailmon's; it prints
// its port on stdout. The password "wrong" is refused, every other one accepted.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';

const CAPS = 'IMAP4rev1 ID LITERAL+';

function reply(tag: string, command: string, args: string): string[] {
  switch (command) {
    case 'CAPABILITY':
      return [`* CAPABILITY ${CAPS}`, `${tag} OK done`];
    case 'ID':
      return ['* ID ("name" "fake")', `${tag} OK done`];
    case 'LOGIN':
      return /\s"?wrong"?$/.test(args)
        ? [`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.`]
        : [`${tag} OK [CAPABILITY ${CAPS}] Logged in`];
    case 'NAMESPACE':
      return ['* NAMESPACE (("" "/")) NIL NIL', `${tag} OK done`];
    case 'LIST':
    case 'LSUB':
      return [`* ${command} (\\HasNoChildren) "/" INBOX`, `${tag} OK done`];
    case 'SELECT':
    case 'EXAMINE':
      return [
        '* FLAGS (\\Seen)',
        '* 0 EXISTS',
        '* OK [UIDVALIDITY 1] ok',
        '* OK [UIDNEXT 1] ok',
        `${tag} OK [${command === 'EXAMINE' ? 'READ-ONLY' : 'READ-WRITE'}] done`,
      ];
    case 'ENABLE':
    case 'NOOP':
      return [`${tag} OK done`];
    case 'LOGOUT':
      return ['* BYE bye', `${tag} OK done`];
    default:
      return [`${tag} BAD unknown command`];
  }
}

const [certPath, keyPath] = process.argv.slice(2);
if (!certPath || !keyPath) throw new Error('usage: node fake-imap.js CERT KEY');
const server = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (socket) => {
  let buffered = '';
  socket.on('error', () => socket.destroy());
  socket.write(`* OK [CAPABILITY ${CAPS}] fake ready\r\n`);
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    let eol: number;
    while ((eol = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, eol).replace(/\r$/, '');
      buffered = buffered.slice(eol + 1);
      const match = /^(\S+) (\S+) ?(.*)$/.exec(line);
      if (!match) continue;
      const command = match[2]!.toUpperCase();
      socket.write(reply(match[1]!, command, match[3]!).join('\r\n') + '\r\n');
      if (command === 'LOGOUT') socket.end();
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
