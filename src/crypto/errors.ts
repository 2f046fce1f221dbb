/**
 * Errors of the secret store. Messages name where a value or key came from (key id, aad, config
 * source) and never the plaintext, the ciphertext or key material, so they are safe to log.
 */

export type SecretDecryptErrorCode =
  | 'malformed' // not a value in a format this version understands
  | 'unknown_key' // encrypted under a key id that is not in the keyring
  | 'tampered'; // authentication failed: altered, moved to another row (aad), or wrong key bytes

export class SecretDecryptError extends Error {
  override readonly name = 'SecretDecryptError';
  constructor(
    readonly code: SecretDecryptErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type KeyConfigErrorCode =
  | 'missing' // no key configured and none may be generated
  | 'invalid' // a key entry does not parse or is not 32 bytes
  | 'insecure_permissions'; // the key file is accessible by group or others

export class KeyConfigError extends Error {
  override readonly name = 'KeyConfigError';
  constructor(
    readonly code: KeyConfigErrorCode,
    message: string,
  ) {
    super(message);
  }
}
