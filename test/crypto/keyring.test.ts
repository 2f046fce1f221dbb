import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyConfigError, SecretDecryptError } from '../../src/crypto/errors.js';
import { createKeyring, isEncryptedSecret, keyIdOfStored } from '../../src/crypto/keyring.js';

const AAD = 'service_auth:42:password';
const PLAINTEXT = 'pä$$ wörd:with@colons/and🔑';

function keyEntry(id: string): { id: string; key: Buffer } {
  return { id, key: randomBytes(32) };
}

/** Decrypts and returns the SecretDecryptError, failing when decryption does not throw one. */
function decryptError(run: () => unknown): SecretDecryptError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretDecryptError);
    return error as SecretDecryptError;
  }
  throw new Error('expected decryption to fail');
}

/** Flips one bit of byte `index` (negative counts from the end) in base64url part `part` of a stored value. */
function flipByte(stored: string, part: 2 | 3, index: number): string {
  const parts = stored.split(':');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[(index + bytes.length) % bytes.length]! ^= 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join(':');
}

describe('createKeyring', () => {
  const k1 = keyEntry('k1');
  const keyring = createKeyring([k1], 'k1');

  it('round-trips unicode, empty and long values in the mm1 format with a fresh IV each time', () => {
    for (const text of [PLAINTEXT, '', 'x'.repeat(10_000)]) {
      const stored = keyring.encrypt(text, AAD);
      expect(stored).toMatch(/^mm1:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
      expect(keyring.decrypt(stored, AAD)).toBe(text);
    }
    expect(keyring.encrypt(PLAINTEXT, AAD)).not.toBe(keyring.encrypt(PLAINTEXT, AAD));
    expect(isEncryptedSecret(keyring.encrypt('x', AAD))).toBe(true);
    expect(isEncryptedSecret('plain password')).toBe(false);
  });

  it('round-trips any string under any aad', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string(), (text, aad) => {
        expect(keyring.decrypt(keyring.encrypt(text, aad), aad)).toBe(text);
      }),
    );
  });

  it('refuses a value moved to another row or column (aad mismatch)', () => {
    const stored = keyring.encrypt(PLAINTEXT, AAD);
    for (const other of [
      'service_auth:43:password',
      'service_auth:42:token',
      'service_auth:4:2password',
      '',
    ]) {
      expect(decryptError(() => keyring.decrypt(stored, other)).code).toBe('tampered');
    }
  });

  it('detects a changed IV, ciphertext or tag', () => {
    const stored = keyring.encrypt(PLAINTEXT, AAD);
    const tampered = {
      iv: flipByte(stored, 2, 0),
      ciphertext: flipByte(stored, 3, 0),
      tag: flipByte(stored, 3, -1),
    };
    for (const value of Object.values(tampered)) {
      expect(value).not.toBe(stored);
      expect(decryptError(() => keyring.decrypt(value, AAD)).code).toBe('tampered');
    }
  });

  it('detects a value relabelled with another key id of the same keyring', () => {
    const two = createKeyring([k1, keyEntry('k2')], 'k1');
    const relabelled = two.encrypt(PLAINTEXT, AAD).replace(/^mm1:k1:/, 'mm1:k2:');
    expect(decryptError(() => two.decrypt(relabelled, AAD)).code).toBe('tampered');
  });

  it('reports values it cannot parse as malformed', () => {
    const stored = keyring.encrypt(PLAINTEXT, AAD);
    const [, , iv, sealed] = stored.split(':');
    const bad = [
      'hunter2',
      '',
      `mm2:k1:${iv}:${sealed}`,
      `mm1:k1:${iv}`,
      `mm1:k1:${iv}:${sealed}:extra`,
      `mm1:k 1:${iv}:${sealed}`,
      `mm1:k1:${iv!.slice(4)}:${sealed}`, // 9-byte IV
      `mm1:k1:${iv}:${sealed!.slice(0, 20)}`, // shorter than a tag
      `mm1:k1:${iv}:${sealed}=`, // padding is not canonical base64url
      `mm1:k1:${iv}:${sealed!.replace(/.$/, '!')}`,
    ];
    for (const value of bad) {
      expect(decryptError(() => keyring.decrypt(value, AAD)).code).toBe('malformed');
      expect(() => keyring.needsRotation(value)).toThrow(SecretDecryptError);
    }
  });

  it('decrypts with an older key, flags it for rotation, and re-encrypts under the active key', () => {
    const old = createKeyring([k1], 'k1').encrypt(PLAINTEXT, AAD);
    const rotated = createKeyring([keyEntry('k2'), k1], 'k2');
    expect(rotated.activeKeyId).toBe('k2');
    expect(rotated.keyIdOf(old)).toBe('k1');
    expect(rotated.needsRotation(old)).toBe(true);
    expect(rotated.decrypt(old, AAD)).toBe(PLAINTEXT);

    const fresh = rotated.encrypt(rotated.decrypt(old, AAD), AAD);
    expect(keyIdOfStored(fresh)).toBe('k2');
    expect(rotated.needsRotation(fresh)).toBe(false);
    expect(rotated.decrypt(fresh, AAD)).toBe(PLAINTEXT);
  });

  it('fails with unknown_key when the key id is not configured', () => {
    const stored = keyring.encrypt(PLAINTEXT, AAD);
    const error = decryptError(() => createKeyring([keyEntry('k2')], 'k2').decrypt(stored, AAD));
    expect(error.code).toBe('unknown_key');
    expect(error.message).toContain('"k1"');
  });

  it('never puts plaintext or key material into errors or inspection output', () => {
    const stored = keyring.encrypt(PLAINTEXT, AAD);
    const errors = [
      decryptError(() => keyring.decrypt(stored, 'other')),
      decryptError(() => keyring.decrypt(flipByte(stored, 3, 0), AAD)),
      decryptError(() => createKeyring([keyEntry('k2')], 'k2').decrypt(stored, AAD)),
      decryptError(() => keyring.decrypt(PLAINTEXT, AAD)),
    ];
    const forbidden = [PLAINTEXT, k1.key.toString('base64'), k1.key.toString('hex'), stored.split(':')[3]!];
    for (const text of [...errors.map((e) => `${e.message} ${inspect(e)}`), inspect(keyring, { depth: 5 })]) {
      for (const secret of forbidden) expect(text).not.toContain(secret);
    }
    expect(JSON.stringify(keyring)).not.toContain(k1.key.toString('base64'));
  });

  it('keeps its own copy of the key bytes', () => {
    const entry = keyEntry('k1');
    const own = createKeyring([entry], 'k1');
    const stored = own.encrypt(PLAINTEXT, AAD);
    entry.key.fill(0);
    expect(own.decrypt(stored, AAD)).toBe(PLAINTEXT);
  });

  it('rejects bad key configurations', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => createKeyring([{ id: 'k1', key: randomBytes(16) }], 'k1'), /key "k1" is 16 bytes, expected 32/],
      [() => createKeyring([k1, k1], 'k1'), /appears twice/],
      [() => createKeyring([k1], 'k9'), /active key id "k9"/],
      [() => createKeyring([{ id: 'a:b', key: randomBytes(32) }], 'a:b'), /key id must be/],
      [() => createKeyring([], 'k1'), /active key id "k1"/],
    ];
    for (const [run, message] of cases) {
      expect(run).toThrow(KeyConfigError);
      expect(run).toThrow(message);
    }
  });
});
