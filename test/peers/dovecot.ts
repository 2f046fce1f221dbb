// A private Dovecot 2.3 (IMAP, optional submission) per call: own temp dir, config, passwd-file,
// maildirs and free ports on 127.0.0.1, run in the foreground as a child process.
// The traps this avoids are measured in docs/test-peers.md; the config is in dovecot-conf.ts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certFor, type CertKind } from './certs.js';
import { buildConf, identity, passwdLine, type DovecotUser, type Identity } from './dovecot-conf.js';
import { freePorts, waitForGreeting, waitForPorts } from './ports.js';
import { peerTempDir } from './run-scope.js';

export type { DovecotUser } from './dovecot-conf.js';

export interface DovecotOptions {
  users: DovecotUser[];
  /** Enable dovecot-submissiond, relaying every accepted message to 127.0.0.1:relayPort (plain SMTP). */
  submission?: { relayPort: number };
  /** Appended verbatim to dovecot.conf (later settings win). */
  extraConf?: string;
  /** Server certificate; default 'valid' (signed by the test CA for 127.0.0.1, ::1, localhost). */
  cert?: CertKind;
}

export interface Dovecot {
  host: '127.0.0.1';
  /** Plain IMAP with STARTTLS. */
  imapPort: number;
  /** Implicit-TLS IMAP. */
  imapsPort: number;
  /** Submission (STARTTLS) when `submission` was given. */
  submissionPort?: number;
  /** The CA that signed the server certificate (for 'selfsigned', the certificate itself). */
  caPem: string;
  dir: string;
  confPath: string;
  /** Append an RFC 822 message to the user's INBOX (doveadm save, about 20 ms). */
  deliver(user: string, rfc822: string): Promise<void>;
  /** Remove every message from the user's INBOX. */
  expungeAll(user: string): Promise<void>;
  /** Replace the users and passwords (Dovecot re-reads its passwd-file when it changes): "fix the password on the server". */
  setUsers(users: DovecotUser[]): void;
  /** SIGTERM to the instance's process group, await the master's exit (about 0.1 s), remove the dir. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
/** Then SIGKILL. */
const STOP_TIMEOUT_MS = 3_000;
/** Attempts with fresh ports when one was taken between choosing and binding it. */
const START_ATTEMPTS = 3;

function doveadm(confPath: string, args: string[], stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('doveadm', ['-c', confPath, ...args], { timeout: 10_000 }, (err, _out, stderr) => {
      if (err)
        reject(new Error(`doveadm ${args[0]} failed: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve();
    });
    child.stdin?.end(stdin ?? '');
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'dovecot.log'), 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Start a private Dovecot; resolves once IMAP (and submission) greet and every listener accepts
 * (about 0.1-0.3 s). Retries with new ports if one was taken between choosing and binding it.
 */
export async function startDovecot(opts: DovecotOptions): Promise<Dovecot> {
  const id = identity();
  for (let attempt = 1; ; attempt++) {
    const dir = peerTempDir('mailmon-dovecot');
    // The mail uid must traverse the dir to reach its maildir.
    chmodSync(dir, 0o755);
    try {
      return await launch(opts, id, dir);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      const portTaken = err instanceof Error && /Address already in use/.test(err.message);
      if (!portTaken || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function launch(opts: DovecotOptions, id: Identity, dir: string): Promise<Dovecot> {
  const cert = await certFor(opts.cert ?? 'valid');
  writeFileSync(join(dir, 'cert.pem'), cert.certPem);
  writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
  const writeUsers = (users: DovecotUser[]): void => {
    // Written aside and renamed: the auth process never reads a half-written file.
    const next = join(dir, 'passwd.next');
    writeFileSync(next, users.map(passwdLine).join('\n') + '\n', { mode: 0o640 });
    // The auth process (default_internal_user) reads the passwd-file.
    if (id.asRoot) chownSync(next, 0, id.mailGid);
    renameSync(next, join(dir, 'passwd'));
  };
  writeUsers(opts.users);
  mkdirSync(join(dir, 'mail'));
  if (id.asRoot) chownSync(join(dir, 'mail'), id.mailUid, id.mailGid);

  const [imapPort, imapsPort, submissionPort] = await freePorts(opts.submission ? 3 : 2);
  const confPath = join(dir, 'dovecot.conf');
  writeFileSync(
    confPath,
    buildConf({
      dir,
      id,
      imapPort: imapPort!,
      imapsPort: imapsPort!,
      submissionPort: opts.submission ? submissionPort : undefined,
      relayPort: opts.submission?.relayPort,
      extraConf: opts.extraConf,
    }),
  );

  // Own process group, so stop() can signal the master and its services together.
  const child = spawn('dovecot', ['-F', '-c', confPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      // the group is already gone
    }
  };
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // If the test process dies without stop(), do not leave a Dovecot behind.
  const onExit = (): void => signalGroup('SIGTERM');
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    // The SAME promise for concurrent callers: one shutdown.
    stopping ??= (async () => {
      process.removeListener('exit', onExit);
      // The whole group at once: about 0.1 s. SIGTERM to the master alone takes about 1.1 s.
      signalGroup('SIGTERM');
      if (!(await waitExit(child, STOP_TIMEOUT_MS))) {
        signalGroup('SIGKILL');
        await waitExit(child, STOP_TIMEOUT_MS);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const ports = [imapPort!, imapsPort!, ...(opts.submission ? [submissionPort!] : [])];
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`dovecot exited during start (${signal ?? code}): ${stderr.trim()}\n${logTail(dir)}`)),
    ),
  );
  exited.catch(() => undefined);
  try {
    const ready = async (): Promise<void> => {
      await waitForGreeting('127.0.0.1', imapPort!, '* OK', START_TIMEOUT_MS);
      if (opts.submission) await waitForGreeting('127.0.0.1', submissionPort!, '220 ', START_TIMEOUT_MS);
      await waitForPorts('127.0.0.1', ports, START_TIMEOUT_MS);
    };
    await Promise.race([ready(), exited]);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    host: '127.0.0.1',
    imapPort: imapPort!,
    imapsPort: imapsPort!,
    submissionPort: opts.submission ? submissionPort : undefined,
    caPem: opts.cert === 'selfsigned' ? cert.certPem : cert.caPem,
    dir,
    confPath,
    deliver: (user, rfc822) => doveadm(confPath, ['save', '-u', user, '-m', 'INBOX'], rfc822),
    expungeAll: (user) => doveadm(confPath, ['expunge', '-u', user, 'mailbox', 'INBOX', 'all']),
    setUsers: writeUsers,
    stop,
  };
}
