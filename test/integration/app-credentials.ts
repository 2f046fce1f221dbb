// App-only OAuth2 credentials for tests, made fresh per run: a Microsoft 365 app's client
// certificate (RSA, self-signed, as `New-SelfSignedCertificate` or openssl makes them for Entra ID)
// and a Google service account's JSON key whose token_uri is the local test endpoint.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface AppCertificate {
  keyPem: string;
  certPem: string;
}

/** An RSA 2048 key and a self-signed certificate valid for `days` from now. */
export async function makeAppCertificate(cn: string, days = 30): Promise<AppCertificate> {
  const dir = mkdtempSync(join(tmpdir(), 'mailmon-app-cert-'));
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-days', String(days),
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]); // prettier-ignore
    return {
      keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
      certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ServiceAccount {
  email: string;
  publicKeyPem: string;
  privateKeyPem: string;
  /** The JSON key as Google's console downloads it. */
  json: string;
}

export function makeServiceAccount(email: string, tokenUri: string): ServiceAccount {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const json = JSON.stringify({
    type: 'service_account',
    project_id: 'mailmon-test',
    private_key_id: 'k1',
    private_key: privateKeyPem,
    client_email: email,
    client_id: '1234567890',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri,
  });
  return {
    email,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem,
    json,
  };
}

/** A distinctive slice of a PEM's base64 body, to search outputs for (a key must never show, even in part). */
export function pemCore(pem: string): string {
  const body = pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
  return body[Math.floor(body.length / 2)]!.slice(0, 48);
}
