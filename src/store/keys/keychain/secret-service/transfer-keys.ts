import type * as NodeCrypto from 'node:crypto';
import type { KeyPairKeyObjectResult } from 'node:crypto';

/**
 * The Secret Service's transfer encryption: Diffie-Hellman in the second Oakley group (RFC 2409),
 * HKDF-SHA256 without salt or info to an AES-128 key, the secret AES-128-CBC with PKCS#7 padding.
 * Key objects rather than getDiffieHellman(), whose constructor re-checks the prime (≈ 35 ms).
 */
export function transferKeys(): { publicKey: Buffer; agree(serverKey: Buffer): (iv: Buffer, value: Buffer) => string } {
  // Loaded here, not at the top: this module is on every quick path, node:crypto only on the keychain's.
  const { createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync } = process.getBuiltinModule(
    'node:crypto',
  ) as typeof NodeCrypto;
  // @types/node 20 lacks the 'dh' overload that Node 20 has.
  const generate = generateKeyPairSync as unknown as (type: 'dh', options: { group: string }) => KeyPairKeyObjectResult;
  const { privateKey, publicKey } = generate('dh', { group: 'modp2' });
  const ours = publicKey.export({ type: 'spki', format: 'der' });
  // SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier (with p and g), BIT STRING { INTEGER y } }
  const spki = derItem(ours, 0);
  const algorithm = derItem(ours, spki.start);
  const bits = derItem(ours, algorithm.end);
  const y = derItem(ours, bits.start + 1);
  return {
    publicKey: unsigned(ours.subarray(y.start, y.end)),
    agree(serverKey) {
      const theirs = der(
        0x30,
        Buffer.concat([ours.subarray(spki.start, algorithm.end), der(0x03, Buffer.concat([Buffer.of(0), derInteger(serverKey)]))]),
      );
      const secret = diffieHellman({ privateKey, publicKey: createPublicKey({ key: theirs, format: 'der', type: 'spki' }) });
      // The service pads the shared secret to the prime's 128 bytes.
      const shared = Buffer.concat([Buffer.alloc(Math.max(0, 128 - secret.length)), secret]);
      const aesKey = Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), Buffer.alloc(0), 16));
      for (const b of [shared, secret]) b.fill(0);
      return (iv, value) => {
        const decipher = createDecipheriv('aes-128-cbc', aesKey, iv);
        const plain = Buffer.concat([decipher.update(value), decipher.final()]);
        const text = plain.toString('utf8');
        for (const b of [plain, aesKey]) b.fill(0);
        return text;
      };
    },
  };
}

/** The DER item at `at`: where its content starts and where it ends. */
function derItem(buf: Buffer, at: number): { start: number; end: number } {
  let length = buf[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[start + i]!;
    start += n;
  }
  return { start, end: start + length };
}

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.of(tag, ...length), content]);
}

/** A positive INTEGER from big-endian bytes. */
function derInteger(bytes: Buffer): Buffer {
  const v = unsigned(bytes);
  return der(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.of(0), v]) : v);
}

/** Big-endian bytes without leading zeros (at least one byte). */
function unsigned(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}
