import { randomBytes } from 'node:crypto';
import type { ServiceAuthInput } from '../../src/accounts/repository.js';
import { createKeyring, type Keyring } from '../../src/crypto/keyring.js';

/** A fresh random keyring for one test file. */
export function testKeyring(id = 'test'): Keyring {
  return createKeyring([{ id, key: randomBytes(32) }], id);
}

/** A password side nothing connects to (127.0.0.1:993, TLS), for tests of how secrets are stored. */
export const passwordSide = (password: string, username = 'u'): ServiceAuthInput => ({
  server: '127.0.0.1',
  port: 993,
  authType: 'password',
  username,
  password,
  security: 'tls',
  acceptUnverifiedCert: false,
  caPem: null,
});
