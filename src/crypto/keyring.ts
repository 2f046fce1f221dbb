import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeyConfigError, SecretDecryptError } from './errors.js';
import type { SecretCodec } from './types.js';

/** AES-256 key length in bytes. */
export const KEY_BYTES = 32;
/** Key ids end up inside stored values, split on ':', so they are restricted to a safe alphabet. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const FORMAT = 'mm1';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12; // the GCM standard nonce size; random per value
const TAG_BYTES = 16;

export interface KeyEntry {
  id: string;
  /** 32 bytes of key material. */
  key: Buffer;
}

export type Keyring = SecretCodec & {
  /** The id of the key that encrypts new values. */
  readonly activeKeyId: string;
  /** The key id a stored value was encrypted under; throws SecretDecryptError('malformed'). */
  keyIdOf(stored: string): string;
};

interface ParsedValue {
  keyId: string;
  iv: Buffer;
  sealed: Buffer; // ciphertext followed by the 16-byte tag
}

/** True when `value` looks like a value this module encrypted (cheap prefix check, no key needed). */
export function isEncryptedSecret(value: string): boolean {
  return value.startsWith(`${FORMAT}:`);
}

/** The key id of a stored value, without a keyring (e.g. to name missing keys at start-up). */
export function keyIdOfStored(stored: string): string {
  return parseStored(stored).keyId;
}

/**
 * A keyring over `keys`: the key `activeId` encrypts, every key decrypts. Stored values read
 * `mm1:<keyId>:<base64url iv>:<base64url ciphertext+tag>`; the version and key id are
 * authenticated together with `aad`.
 */
export function createKeyring(keys: readonly KeyEntry[], activeId: string): Keyring {
  const byId = new Map<string, Buffer>();
  for (const { id, key } of keys) {
    if (!KEY_ID_PATTERN.test(id)) {
      // The bad id is not echoed: a misplaced key could sit where the id belongs.
      throw new KeyConfigError('invalid', `a key id must be 1-64 characters of A-Z a-z 0-9 _ -`);
    }
    if (byId.has(id)) throw new KeyConfigError('invalid', `key id "${id}" appears twice`);
    if (key.length !== KEY_BYTES) {
      throw new KeyConfigError('invalid', `key "${id}" is ${key.length} bytes, expected ${KEY_BYTES}`);
    }
    byId.set(id, Buffer.from(key)); // own copy: a caller zeroing or reusing its buffer cannot affect us
  }
  const activeKey = byId.get(activeId);
  if (!activeKey) throw new KeyConfigError('invalid', `active key id "${activeId}" is not in the keyring`);

  return {
    activeKeyId: activeId,
    keyIdOf: keyIdOfStored,
    needsRotation: (stored) => parseStored(stored).keyId !== activeId,

    encrypt(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, activeKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(activeId, aad));
      const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return [FORMAT, activeId, iv.toString('base64url'), sealed.toString('base64url')].join(':');
    },

    decrypt(stored, aad) {
      const { keyId, iv, sealed } = parseStored(stored);
      const key = byId.get(keyId);
      if (!key) {
        throw new SecretDecryptError(
          'unknown_key',
          `secret for ${aad} is encrypted under key "${keyId}", which is not configured`,
        );
      }
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(keyId, aad));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      try {
        const body = sealed.subarray(0, sealed.length - TAG_BYTES);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        // node:crypto says only "Unsupported state or unable to authenticate data"; say what it means.
        throw new SecretDecryptError(
          'tampered',
          `secret for ${aad} failed authentication under key "${keyId}": altered, copied from another row, or the key bytes for "${keyId}" changed`,
        );
      }
    },
  };
}

function additionalData(keyId: string, aad: string): Buffer {
  return Buffer.from(`${FORMAT}:${keyId}:${aad}`, 'utf8');
}

function parseStored(stored: string): ParsedValue {
  const parts = stored.split(':');
  const [format, keyId, iv, sealed] = parts;
  if (parts.length !== 4 || format !== FORMAT || keyId === undefined || !KEY_ID_PATTERN.test(keyId)) {
    throw new SecretDecryptError('malformed', `stored secret is not in the ${FORMAT} format`);
  }
  const ivBytes = decodeBase64url(iv);
  const sealedBytes = decodeBase64url(sealed);
  if (ivBytes?.length !== IV_BYTES || !sealedBytes || sealedBytes.length < TAG_BYTES) {
    throw new SecretDecryptError(
      'malformed',
      `stored secret under key "${keyId}" has a bad IV or ciphertext`,
    );
  }
  return { keyId, iv: ivBytes, sealed: sealedBytes };
}

/** Strict base64url: Buffer.from ignores stray characters and trailing bits, so re-encode to compare. */
function decodeBase64url(text: string | undefined): Buffer | undefined {
  if (text === undefined || text === '') return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
