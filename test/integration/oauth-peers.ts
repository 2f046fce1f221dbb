// Mail servers that really check OAuth2 access tokens, for tests: a Dovecot whose oauth2 passdb asks
// an RFC 7662 introspection endpoint about every XOAUTH2/OAUTHBEARER login, the smtp-server options
// whose XOAUTH2 hook asks a test token endpoint, and a one-token introspection endpoint.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startDovecot, type Dovecot, type DovecotUser } from '../peers/dovecot.js';
import { peerTempDir } from '../peers/run-scope.js';
import type { SmtpServerOptions } from '../peers/smtp.js';
import type { TokenEndpoint } from './oauth-token-endpoint.js';

export interface OAuthDovecotOptions {
  /** Where Dovecot POSTs every token, e.g. `${idp.url}/introspect`. */
  introspectionUrl: string;
  users: DovecotUser[];
  /** The SASL mechanisms the oauth2 passdb serves. Default 'xoauth2 oauthbearer'. */
  mechanisms?: string;
}

/**
 * startDovecot with an oauth2 passdb (introspection_mode = post, force_introspection = yes) for
 * `mechanisms`; plain and login stay with the passwd-file. stop() also removes the passdb's config.
 */
export async function startOAuthDovecot(opts: OAuthDovecotOptions): Promise<Dovecot> {
  const mechanisms = opts.mechanisms ?? 'xoauth2 oauthbearer';
  const dir = peerTempDir('mailmon-oauth2-passdb');
  // Dovecot's auth process reads the file.
  chmodSync(dir, 0o755);
  const conf = join(dir, 'oauth2.conf.ext');
  writeFileSync(
    conf,
    [
      `introspection_url = ${opts.introspectionUrl}`,
      'introspection_mode = post',
      'force_introspection = yes',
      'username_attribute = username',
      'active_attribute = active',
      'active_value = true',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const removeConf = () => rmSync(dir, { recursive: true, force: true });
  let dovecot: Dovecot;
  try {
    dovecot = await startDovecot({
      users: opts.users,
      extraConf: [
        `auth_mechanisms = plain login ${mechanisms}`,
        'passdb {',
        '  driver = oauth2',
        `  mechanisms = ${mechanisms}`,
        `  args = ${conf}`,
        '}',
        '',
      ].join('\n'),
    });
  } catch (err) {
    removeConf();
    throw err;
  }
  return {
    ...dovecot,
    stop: async () => {
      await dovecot.stop();
      removeConf();
    },
  };
}

/**
 * startSmtpServer options offering only XOAUTH2, accepted when `idp` says the access token is
 * active for that user (a tenant token: for any consented mailbox); anything else is a 535.
 */
export function xoauth2SmtpOptions(idp: Pick<TokenEndpoint, 'validFor'>): SmtpServerOptions {
  return {
    users: [],
    authMethods: ['XOAUTH2'],
    serverOptions: {
      onAuth(auth, _session, callback) {
        if (auth.method === 'XOAUTH2' && idp.validFor(auth.accessToken ?? '', auth.username ?? '')) {
          return callback(null, { user: auth.username });
        }
        return callback(Object.assign(new Error('5.7.8 token refused'), { responseCode: 535 }));
      },
    },
  };
}

export interface Introspection {
  /** The endpoint's URL, for `introspectionUrl`. */
  url: string;
  /** Every token asked about, in order. */
  seen: string[];
  close(): Promise<void>;
}

/** An RFC 7662 introspection endpoint on 127.0.0.1 for which only `token` is active, as `username`. */
export async function startIntrospection(token: string, username: string): Promise<Introspection> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const presented = new URLSearchParams(body).get('token') ?? '';
      seen.push(presented);
      // Connection: close, so Dovecot's HTTP client keeps no socket open here between checks.
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(presented === token ? { active: 'true', username } : { active: 'false' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/introspect`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
