/**
 * Encrypts secrets at rest. `aad` binds a ciphertext to where it is stored (table, row id, column),
 * so a value copied to another row fails to decrypt.
 */
export interface SecretCodec {
  encrypt(plaintext: string, aad: string): string;
  /** Throws when the value was tampered with, moved, or its key is not in the keyring. */
  decrypt(stored: string, aad: string): string;
  /** True when `stored` is encrypted under a key other than the active one (rotation needed). */
  needsRotation(stored: string): boolean;
}
