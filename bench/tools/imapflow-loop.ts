// The floor: a bare imapflow loop doing what a mailmon IMAP check does (connect over implicit TLS,
// login, EXAMINE INBOX, logout), with nothing recorded. One shared TLS context, as a careful user
// of the library would have.
import { ImapFlow } from 'imapflow';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { readSpec, runLoop } from './spec.js';

const spec = readSpec();
const secureContext = createSecureContext({ ca: readFileSync(spec.caPath, 'utf8') });
const commands: string[] = [];
const quiet = (): void => undefined;
const recordCommands = {
  trace: quiet,
  debug: (entry: { src?: string; msg?: string }) => {
    if (entry.src === 'c' && entry.msg) commands.push(entry.msg.split(' ')[1] ?? '?');
  },
  info: quiet,
  warn: quiet,
  error: quiet,
  fatal: quiet,
};

await runLoop(
  spec,
  async (i) => {
    const user = `u${String(i % spec.users).padStart(6, '0')}`;
    const client = new ImapFlow({
      host: spec.host,
      port: spec.port,
      secure: true,
      tls: { secureContext },
      auth: { user, pass: spec.wrongPassword ? 'wrong' : `pw-${i % spec.users}-bench` },
      logger: i === 0 ? recordCommands : false,
      disableCompression: true,
      disableAutoEnable: true,
      disableAutoIdle: true,
      verifyOnly: spec.variant === 'verify',
    });
    client.on('error', quiet);
    try {
      await client.connect();
      if (spec.variant !== 'verify') {
        await client.mailboxOpen('INBOX', { readOnly: true });
        await client.logout();
      }
    } finally {
      client.close();
    }
  },
  { commands },
);
