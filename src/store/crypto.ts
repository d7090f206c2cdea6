import type * as NodeCrypto from 'node:crypto';
import { StoreError } from '../errors.js';

// Loaded on first use (≈ 3 ms): `whoami` and `status` never encrypt nor decrypt.
const lazyCrypto = (): typeof NodeCrypto => process.getBuiltinModule('node:crypto');

const PREFIX = 'v1.';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A fresh random AES-256 data key. */
export function generateDataKey(): Buffer {
  return lazyCrypto().randomBytes(KEY_BYTES);
}

/**
 * A check value of a data key (HMAC-SHA256 of a fixed label, 128 bits): kept in `meta` beside the
 * record of where the key lives, it tells whether a copy of the key (the kernel key cache) is the
 * store's current key, and reveals nothing of the key itself.
 */
export function dataKeyCheck(key: Buffer): string {
  return lazyCrypto().createHmac('sha256', key).update('xtalk data-key check v1').digest().subarray(0, 16).toString('base64url');
}

/** True when `key` has the length {@link encrypt} needs. */
export function isDataKey(key: Buffer): boolean {
  return key.length === KEY_BYTES;
}

/** A data key kept as text (base64: the keychain entry, the key file); `where` names it in the error. */
export function decodeDataKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (!isDataKey(key)) {
    throw new StoreError('DATA_KEY_INVALID', `${where} does not hold a valid xtalk data key`);
  }
  return key;
}

/**
 * Encrypts a token column with AES-256-GCM. `aad` names the ciphertext's place (for example
 * `refresh_token:<user_id>`), so a ciphertext copied to another row or user fails to decrypt.
 * Output: `v1.` + base64url(iv | tag | ciphertext).
 */
export function encrypt(key: Buffer, plaintext: string, aad: string): string {
  assertKey(key);
  const iv = lazyCrypto().randomBytes(IV_BYTES);
  const cipher = lazyCrypto().createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Reverses {@link encrypt}; a wrong key, wrong `aad` or any altered byte throws a StoreError. */
export function decrypt(key: Buffer, ciphertext: string, aad: string): string {
  assertKey(key);
  const raw = ciphertext.startsWith(PREFIX) ? Buffer.from(ciphertext.slice(PREFIX.length), 'base64url') : undefined;
  if (!raw || raw.length < IV_BYTES + TAG_BYTES) throw undecryptable();
  const decipher = lazyCrypto().createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
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
  return new UndecryptableTokenError('TOKEN_UNDECRYPTABLE', 'stored token could not be decrypted', { cause });
}

function assertKey(key: Buffer): void {
  if (!isDataKey(key)) throw new StoreError('INTERNAL', `internal error: data key must be ${KEY_BYTES} bytes`);
}
