// dovecot.conf for a private test instance: who the processes run as, the passwd-file, and the
// settings that dodge the traps measured in docs/test-peers.md.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

export interface DovecotUser {
  user: string;
  pass: string;
  /**
   * passdb extra fields (space-separated key=value), e.g. `nologin reason=Account_locked` or
   * `code=pass_expired`: how a real server says "locked" or "expired" (RFC 5530 response codes).
   */
  extra?: string;
}

export interface Identity {
  /** Runs the mail processes (userdb uid/gid). Never root: Dovecot refuses uid 0 for mail. */
  mailUid: number;
  mailGid: number;
  internalUser: string;
  internalGroup: string;
  loginUser: string;
  /** Chroots work only as root. */
  asRoot: boolean;
}

function groupName(gid: number): string | undefined {
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === String(gid));
  return line?.split(':')[0];
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export function identity(): Identity {
  const me = userInfo();
  if (me.uid !== 0) {
    return {
      mailUid: me.uid,
      mailGid: me.gid,
      internalUser: me.username,
      internalGroup: groupName(me.gid) ?? me.username,
      loginUser: me.username,
      asRoot: false,
    };
  }
  const dovecot = lookupUser('dovecot');
  if (!dovecot)
    throw new Error('the "dovecot" system user is missing: is the dovecot-core package installed?');
  return {
    mailUid: dovecot.uid,
    mailGid: dovecot.gid,
    internalUser: 'dovecot',
    internalGroup: groupName(dovecot.gid) ?? 'dovecot',
    loginUser: lookupUser('dovenull') ? 'dovenull' : 'dovecot',
    asRoot: true,
  };
}

export function passwdLine({ user, pass, extra }: DovecotUser): string {
  if (/[:\n]/.test(user)) throw new Error(`Dovecot test user name must not contain ':' or newlines`);
  if (extra !== undefined && /[:\n]/.test(extra))
    throw new Error(`Dovecot extra fields must not contain ':' or newlines`);
  // Base64 so any password (colons included) survives the passwd-file format.
  return `${user}:{PLAIN.b64}${Buffer.from(pass, 'utf8').toString('base64')}::::::${extra ?? ''}`;
}

export interface ConfInput {
  dir: string;
  id: Identity;
  imapPort: number;
  imapsPort: number;
  submissionPort?: number;
  relayPort?: number;
  extraConf?: string;
}

export function buildConf(c: ConfInput): string {
  const { dir, id } = c;
  const lines = [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `instance_name = mailmon-test-${c.imapPort}`,
    'listen = 127.0.0.1',
    `protocols = imap${c.submissionPort ? ' submission' : ''}`,
    `log_path = ${dir}/dovecot.log`,
    'hostname = localhost',
    `default_internal_user = ${id.internalUser}`,
    `default_internal_group = ${id.internalGroup}`,
    `default_login_user = ${id.loginUser}`,
    // Trap 1: the dovecot uid (~110) is below the default first_valid_uid (500).
    `first_valid_uid = ${id.mailUid}`,
    `last_valid_uid = ${id.mailUid}`,
    'ssl = yes',
    `ssl_cert = <${dir}/cert.pem`,
    `ssl_key = <${dir}/key.pem`,
    'ssl_min_protocol = TLSv1.2',
    // Probes must be testable on a plain port too; the tests decide what a client may do.
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
    `  args = uid=${id.mailUid} gid=${id.mailGid} home=${dir}/mail/%u`,
    '}',
    // Trap 2: after one failed login, anvil's auth penalty slows every later login from 127.0.0.1
    // by seconds. Without a chroot and with the penalty socket unusable, logins stay fast.
    'service anvil {',
    '  chroot =',
    '  unix_listener anvil-auth-penalty {',
    '    mode = 0',
    '  }',
    '}',
    // One long-lived login process (high-performance mode). With the default one-process-per-
    // connection, a stop() soon after connections often waits Dovecot's 5 s kill timeout.
    'service imap-login {',
    '  service_count = 0',
    `  inet_listener imap {\n    port = ${c.imapPort}\n  }`,
    `  inet_listener imaps {\n    port = ${c.imapsPort}\n    ssl = yes\n  }`,
    ...(id.asRoot ? [] : ['  chroot =']),
    '}',
  ];
  if (c.submissionPort) {
    lines.push(
      'submission_relay_host = 127.0.0.1',
      `submission_relay_port = ${c.relayPort}`,
      'submission_relay_trusted = yes',
      'submission_relay_ssl = no',
      'service submission-login {',
      '  service_count = 0',
      `  inet_listener submission {\n    port = ${c.submissionPort}\n  }`,
      ...(id.asRoot ? [] : ['  chroot =']),
      '}',
    );
  }
  if (c.extraConf) lines.push(c.extraConf);
  return lines.join('\n') + '\n';
}

/**
 * The quota plugin (count driver, RFC 9208 over IMAP) with one limit for every user, for
 * `extraConf`. Dovecot refuses mail past the limit (doveadm save, LMTP, IMAP APPEND with
 * OVERQUOTA); `doveadm -o plugin/quota_rule=...` overrides it to fill a mailbox past it.
 */
export function quotaConf(limit: { storageKib: number; messages?: number }): string {
  return [
    'mail_plugins = $mail_plugins quota',
    'protocol imap {',
    '  mail_plugins = $mail_plugins imap_quota',
    '}',
    'plugin {',
    '  quota = count:User quota',
    '  quota_vsizes = yes',
    `  quota_rule = *:storage=${limit.storageKib}K`,
    ...(limit.messages === undefined ? [] : [`  quota_rule2 = *:messages=${limit.messages}`]),
    '  quota_grace = 0',
    '}',
  ].join('\n');
}

/**
 * Dovecot LMTP (dovecot-lmtpd) on 127.0.0.1:`port`, for `extraConf`, with a Junk folder (RFC 6154
 * \Junk, created on demand) that `user+Junk@domain` delivers into: how a relay "files as spam".
 * `protocols` lists every protocol again because a later setting replaces the earlier one.
 */
export function lmtpConf(port: number, protocols = 'imap submission lmtp'): string {
  return [
    `protocols = ${protocols}`,
    'postmaster_address = postmaster@localhost',
    'recipient_delimiter = +',
    'lmtp_save_to_detail_mailbox = yes',
    'service lmtp {',
    `  inet_listener lmtp {\n    address = 127.0.0.1\n    port = ${port}\n  }`,
    '}',
    'namespace inbox {',
    '  inbox = yes',
    '  mailbox Junk {',
    '    special_use = \\Junk',
    '    auto = create',
    '  }',
    '}',
  ].join('\n');
}
