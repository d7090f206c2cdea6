import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { decrypt, encrypt, generateDataKey } from '../../src/store/crypto.js';

const key = generateDataKey();

function flipByte(ciphertext: string, index: number): string {
  const raw = Buffer.from(ciphertext.slice(3), 'base64url');
  raw[index] = raw[index]! ^ 0x01;
  return `v1.${raw.toString('base64url')}`;
}

describe('crypto', () => {
  it('round-trips a token and never repeats a ciphertext', () => {
    const a = encrypt(key, 'secret-token-ä', 'access_token:1');
    const b = encrypt(key, 'secret-token-ä', 'access_token:1');
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(decrypt(key, a, 'access_token:1')).toBe('secret-token-ä');
    expect(decrypt(key, b, 'access_token:1')).toBe('secret-token-ä');
  });

  it('generates distinct 32-byte keys', () => {
    expect(generateDataKey()).toHaveLength(32);
    expect(generateDataKey().equals(generateDataKey())).toBe(false);
  });

  it.each([
    ['iv', 0],
    ['tag', 12],
    ['ciphertext', 28],
  ])('detects a flipped byte in the %s', (_, index) => {
    const c = encrypt(key, 'secret-token', 'refresh_token:7');
    expect(() => decrypt(key, flipByte(c, index), 'refresh_token:7')).toThrow(StoreError);
    expect(() => decrypt(key, flipByte(c, index), 'refresh_token:7')).toThrow(expect.objectContaining({ code: 'TOKEN_UNDECRYPTABLE' }));
  });

  it('refuses a wrong AAD, a wrong key, and malformed input', () => {
    const c = encrypt(key, 'secret-token', 'access_token:1');
    expect(() => decrypt(key, c, 'access_token:2')).toThrow(StoreError);
    expect(() => decrypt(key, c, 'refresh_token:1')).toThrow(StoreError);
    expect(() => decrypt(generateDataKey(), c, 'access_token:1')).toThrow(StoreError);
    expect(() => decrypt(key, c.slice(3), 'access_token:1')).toThrow(StoreError);
    expect(() => decrypt(key, 'v1.AAAA', 'access_token:1')).toThrow(StoreError);
    expect(() => decrypt(key, `${c}AA`, 'access_token:1')).toThrow(StoreError);
  });

  it('rejects a key of the wrong size', () => {
    expect(() => encrypt(Buffer.alloc(16), 'x', 'a')).toThrow(StoreError);
  });
});
