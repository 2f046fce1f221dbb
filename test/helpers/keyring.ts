import { randomBytes } from 'node:crypto';
import { createKeyring, type Keyring } from '../../src/crypto/keyring.js';

/** A fresh random keyring for one test file. */
export function testKeyring(id = 'test'): Keyring {
  return createKeyring([{ id, key: randomBytes(32) }], id);
}
