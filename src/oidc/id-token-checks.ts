import { createHmac, timingSafeEqual } from 'node:crypto';
import { ProviderError } from '../errors.js';
import type * as oidc from 'openid-client';
import { quote, rejectedAlg } from './error-text.js';
import type { AuthorizationRequest } from '../core/provider-records.js';

/**
 * The ID-token checks xtalk adds to openid-client's (which checks signature, iss, aud, exp, nonce):
 * the HS* MAC with the client secret, the authorized party, and `auth_time` for a fresh sign-in.
 * Each failure is code ID_TOKEN_INVALID with the check in `facts.check`.
 */

/** How far the provider's clock may lag behind ours before a fresh sign-in looks old. */
export const AUTH_TIME_TOLERANCE_SECONDS = 30;

/**
 * OIDC Core 3.1.2.1 `max_age`: the ID token must carry `auth_time`, and it must not be older than
 * the request minus `max_age` (and the clock tolerance) — `max_age=0` means "signed in just now".
 */
export function checkAuthTime(claims: Record<string, unknown> | undefined, request: AuthorizationRequest): void {
  const authTime = claims?.auth_time;
  const opts = { facts: { check: 'auth_time' } } as const;
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) {
    throw new ProviderError(
      'ID_TOKEN_INVALID',
      'The ID token has no auth_time, so xtalk cannot tell whether you just signed in; nothing was stored.',
      opts,
    );
  }
  const oldest = Math.floor(request.requestedAt / 1000) - (request.maxAge ?? 0) - AUTH_TIME_TOLERANCE_SECONDS;
  if (authTime < oldest) {
    throw new ProviderError(
      'ID_TOKEN_INVALID',
      `The provider reused a sign-in from ${new Date(authTime * 1000).toISOString()}, older than this login (auth_time check); nothing was stored.`,
      opts,
    );
  }
}

/**
 * OIDC Core 3.1.3.7: openid-client checks `azp` only when `aud` lists several clients; xtalk asked
 * for this token itself, so any other authorized party means it was issued to someone else.
 */
export function checkAuthorizedParty(claims: Record<string, unknown> | undefined, clientId: string): void {
  if (claims?.azp === undefined || claims.azp === clientId) return;
  throw new ProviderError(
    'ID_TOKEN_INVALID',
    `The ID token failed validation: unexpected ID Token "azp" (authorized party) claim value (expected ${quote(clientId)}, got ${quote(claims.azp)})`,
  );
}

const HMAC_ALGS: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/**
 * Checks an HS*-signed ID token's MAC with the client secret (OIDC Core 10.1: the secret's UTF-8
 * octets are the key). openid-client has already checked the header `alg` against the setting and
 * validated the claims.
 */
export function verifyHmacIdToken(idToken: string, alg: string, secret: string): void {
  const hash = HMAC_ALGS[alg];
  const [header, payload, signature] = idToken.split('.');
  if (!hash || header === undefined || payload === undefined || signature === undefined) {
    throw new ProviderError('ID_TOKEN_INVALID', `The ID token failed validation: cannot check an ${alg} signature.`, {
      facts: { check: 'hmac_alg', alg },
    });
  }
  const expected = createHmac(hash, Buffer.from(secret, 'utf8')).update(`${header}.${payload}`).digest();
  const got = Buffer.from(signature, 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new ProviderError('ID_TOKEN_INVALID', `The ID token failed validation: its ${alg} signature does not match the client secret.`, {
      facts: { check: 'hmac_signature', alg },
    });
  }
}

/**
 * Imports one of the provider's signing keys and throws the result away: the first import loads
 * WebCrypto's key code, which would otherwise cost the first ID-token check a few ms. Never fails.
 */
export async function warmKeyImport(keys: readonly unknown[]): Promise<void> {
  const jwk = keys.find(
    (k): k is JsonWebKey => typeof k === 'object' && k !== null && ['RSA', 'EC'].includes(String((k as JsonWebKey).kty)),
  );
  if (!jwk) return;
  const { kty, n, e, crv, x, y } = jwk;
  const algorithm = kty === 'RSA' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: String(crv) };
  await crypto.subtle.importKey('jwk', { kty, n, e, crv, x, y }, algorithm, false, ['verify']).catch(() => {});
}

/**
 * An ID token refused for its `alg` when the provider's discovery lists that alg but the client is
 * configured for another: the same refusal with `facts.check` `listed_alg`, so the hint says which
 * setting to change. Undefined for every other error.
 */
export function listedAlgRefusal(e: unknown, config: oidc.Configuration): ProviderError | undefined {
  const alg = rejectedAlg(e);
  const configured = config.clientMetadata().id_token_signed_response_alg;
  if (!alg || !(e instanceof ProviderError) || e.code !== 'ID_TOKEN_INVALID' || e.facts.check !== undefined || alg === configured)
    return undefined;
  if (!config.serverMetadata().id_token_signing_alg_values_supported?.includes(alg)) return undefined;
  const facts = { error: e.error, errorDescription: e.errorDescription, check: 'listed_alg' as const, alg, configuredAlg: configured };
  return new ProviderError('ID_TOKEN_INVALID', e.message, { facts, cause: e });
}
