import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StoreError } from '../errors.js';

const PREFIX = 'v1.';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A fresh random AES-256 data key. */
export function generateDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** True when `key` has the length {@link encrypt} needs. */
export function isDataKey(key: Buffer): boolean {
  return key.length === KEY_BYTES;
}

/**
 * Encrypts a token column with AES-256-GCM. `aad` names the ciphertext's place (for example
 * `refresh_token:<user_id>`), so a ciphertext copied to another row or user fails to decrypt.
 * Output: `v1.` + base64url(iv | tag | ciphertext).
 */
export function encrypt(key: Buffer, plaintext: string, aad: string): string {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Reverses {@link encrypt}; a wrong key, wrong `aad` or any altered byte throws a StoreError. */
export function decrypt(key: Buffer, ciphertext: string, aad: string): string {
  assertKey(key);
  const raw = ciphertext.startsWith(PREFIX) ? Buffer.from(ciphertext.slice(PREFIX.length), 'base64url') : undefined;
  if (!raw || raw.length < IV_BYTES + TAG_BYTES) throw undecryptable();
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (e) {
    throw undecryptable(e);
  }
}

/** A stored ciphertext that the current data key cannot open: it can never be used or revoked. */
export class UndecryptableTokenError extends StoreError {}

function undecryptable(cause?: unknown): StoreError {
  return new UndecryptableTokenError('stored token could not be decrypted', {
    hint: 'The token or its data key was changed or replaced. Run `xtalk login` to sign in again, or `xtalk logout --force` to delete the unreadable tokens.',
    cause,
  });
}

function assertKey(key: Buffer): void {
  if (!isDataKey(key)) throw new StoreError(`internal error: data key must be ${KEY_BYTES} bytes`, { hint: 'Please report this bug.' });
}
