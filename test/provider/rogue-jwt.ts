/**
 * JWT signing for the rogue provider, with node:crypto only: correct RS256 / ES256 signatures, and
 * the broken ones a misbehaving provider produces (another key under the published `kid`,
 * `alg: none`, HS256 keyed with the client secret).
 */
import { createHmac, generateKeyPairSync, sign, type JsonWebKey, type KeyObject } from 'node:crypto';

export type AsymmetricAlg = 'RS256' | 'ES256';

export interface SigningKey {
  kid: string;
  alg: AsymmetricAlg;
  privateKey: KeyObject;
  /** What the JWKS publishes: public part, `kid`, `alg`, `use: sig`. */
  publicJwk: JsonWebKey;
}

/** How one JWT is signed. */
export type Signature =
  /** Correctly, with `key`. */
  | { kind: 'key'; key: SigningKey }
  /** The header names `key.kid`, but another private key of the same type signs: the signature does not verify. */
  | { kind: 'wrong-key'; key: SigningKey }
  /** `alg: none`, empty signature. */
  | { kind: 'none' }
  /** HS256 with a shared secret (the client secret, as a confused provider would). */
  | { kind: 'hs256'; secret: string };

export function createSigningKey(alg: AsymmetricAlg, kid: string): SigningKey {
  const { privateKey, publicKey } =
    alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

const unpublished = new Map<AsymmetricAlg, SigningKey>();

/** A key no JWKS publishes (kid `unpublished`), one per algorithm: RSA key generation is slow. */
export function unpublishedKey(alg: AsymmetricAlg): SigningKey {
  let key = unpublished.get(alg);
  if (!key) unpublished.set(alg, (key = createSigningKey(alg, 'unpublished')));
  return key;
}

export function signJwt(claims: Record<string, unknown>, signature: Signature): string {
  const header: Record<string, unknown> = { typ: 'JWT' };
  switch (signature.kind) {
    case 'key':
    case 'wrong-key':
      Object.assign(header, { alg: signature.key.alg, kid: signature.key.kid });
      break;
    case 'none':
      header.alg = 'none';
      break;
    case 'hs256':
      header.alg = 'HS256';
      break;
  }
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${signatureOf(input, signature)}`;
}

function signatureOf(input: string, signature: Signature): string {
  const data = Buffer.from(input);
  switch (signature.kind) {
    case 'none':
      return '';
    case 'hs256':
      return createHmac('sha256', signature.secret).update(data).digest('base64url');
    case 'key':
    case 'wrong-key': {
      const key = signature.kind === 'key' ? signature.key : unpublishedKey(signature.key.alg);
      // JWS wants ECDSA signatures as raw r || s, not DER.
      const options = key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' as const } : key.privateKey;
      return sign('sha256', data, options).toString('base64url');
    }
  }
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64url');
}
