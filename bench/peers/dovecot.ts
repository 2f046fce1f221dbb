// A private Dovecot tuned for throughput, so that the server is not what the benchmark measures:
// one long-lived imap-login (service_count = 0) with spares (process_min_avail), no failure delay,
// the anvil auth-penalty socket unusable (else one wrong password slows every later login from
// 127.0.0.1 by seconds), and dovecot-submissiond as the SMTP peer on the same passdb.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { BenchCerts } from './certs.js';
import { freePorts, waitForGreeting } from './net.js';

export interface BenchDovecot {
  imapsPort: number;
  /** Plain IMAP (STARTTLS offered). */
  imapPort: number;
  /** Submission with STARTTLS. */
  submissionPort: number;
  pid: number;
  confPath: string;
  stop(): Promise<void>;
}

export const userName = (i: number): string => `u${String(i).padStart(6, '0')}`;
export const userPass = (i: number): string => `pw-${i}-bench`;

function passwdEntry(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function groupOf(gid: number): string {
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === String(gid));
  return line?.split(':')[0] ?? String(gid);
}

export function dovecotConf(dir: string, ports: number[], certs: BenchCerts, relayPort: number): string {
  const [imap, imaps, submission] = ports;
  const root = userInfo().uid === 0;
  const mail = root ? passwdEntry('dovecot') : { uid: userInfo().uid, gid: userInfo().gid };
  if (!mail) throw new Error('the "dovecot" system user is missing (package dovecot-core)');
  const internal = root ? 'dovecot' : userInfo().username;
  const login = root ? (passwdEntry('dovenull') ? 'dovenull' : 'dovecot') : userInfo().username;
  const noChroot = root ? [] : ['  chroot ='];
  return [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `instance_name = mailmon-bench-${imap}`,
    'listen = 127.0.0.1',
    'protocols = imap submission',
    `log_path = ${dir}/dovecot.log`,
    'hostname = localhost',
    `default_internal_user = ${internal}`,
    `default_internal_group = ${groupOf(mail.gid)}`,
    `default_login_user = ${login}`,
    `first_valid_uid = ${mail.uid}`,
    `last_valid_uid = ${mail.uid}`,
    'ssl = yes',
    `ssl_cert = <${certs.certPath}`,
    `ssl_key = <${certs.keyPath}`,
    'ssl_min_protocol = TLSv1.2',
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    'auth_failure_delay = 0',
    'mail_location = maildir:~/Maildir',
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN username_format=%u ${dir}/passwd`,
    '}',
    'userdb {',
    '  driver = static',
    `  args = uid=${mail.uid} gid=${mail.gid} home=${dir}/mail/%u`,
    '}',
    'service anvil {',
    '  chroot =',
    '  unix_listener anvil-auth-penalty {',
    '    mode = 0',
    '  }',
    '}',
    'service imap-login {',
    '  service_count = 0',
    '  process_min_avail = 2',
    `  inet_listener imap {\n    port = ${imap}\n  }`,
    `  inet_listener imaps {\n    port = ${imaps}\n    ssl = yes\n  }`,
    ...noChroot,
    '}',
    'service imap {',
    '  process_limit = 1024',
    '}',
    'submission_relay_host = 127.0.0.1',
    `submission_relay_port = ${relayPort}`,
    'submission_relay_trusted = yes',
    'submission_relay_ssl = no',
    'service submission-login {',
    '  service_count = 0',
    '  process_min_avail = 2',
    `  inet_listener submission {\n    port = ${submission}\n  }`,
    ...noChroot,
    '}',
    'service submission {',
    '  process_limit = 1024',
    '}',
    '',
  ].join('\n');
}

/** Start Dovecot in `dir` with `users` passwd entries (u000000 .. ). Ready when IMAP and submission greet. */
export async function startDovecot(dir: string, users: number, certs: BenchCerts): Promise<BenchDovecot> {
  chmodSync(dir, 0o755);
  const lines: string[] = [];
  for (let i = 0; i < users; i++) lines.push(`${userName(i)}:{PLAIN}${userPass(i)}::::::`);
  writeFileSync(join(dir, 'passwd'), lines.join('\n') + '\n', { mode: 0o640 });
  mkdirSync(join(dir, 'mail'), { recursive: true });
  if (userInfo().uid === 0) {
    const mail = passwdEntry('dovecot');
    if (mail) {
      chownSync(join(dir, 'mail'), mail.uid, mail.gid);
      chownSync(join(dir, 'passwd'), 0, mail.gid);
    }
  }
  const ports = await freePorts(4);
  const confPath = join(dir, 'dovecot.conf');
  // Nothing listens on the relay port: verify() and the checks never send a message.
  writeFileSync(confPath, dovecotConf(dir, ports, certs, ports[3]!));
  const child: ChildProcess = spawn('dovecot', ['-F', '-c', confPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const kill = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const onExit = (): void => kill('SIGTERM');
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForGreeting(ports[0]!, '* OK', 10_000);
    await waitForGreeting(ports[2]!, '220 ', 10_000);
  } catch (error) {
    await stop();
    throw new Error(`Dovecot did not start: ${stderr.trim()} (log: ${dir}/dovecot.log)`, { cause: error });
  }
  return {
    imapPort: ports[0]!,
    imapsPort: ports[1]!,
    submissionPort: ports[2]!,
    pid: child.pid!,
    confPath,
    stop,
  };
}
