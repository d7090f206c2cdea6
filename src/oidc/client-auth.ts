import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TokenAuthMethod } from '../config/resolve.js';
import { ConfigError, ProviderError } from '../errors.js';
import { quote } from './error-text.js';

/** What a ProviderClient knows about how it presents itself, for messages and ID-token checks. */
export interface ClientFacts {
  method: TokenAuthMethod;
  clientId: string;
  /** The client secret, only when ID tokens are HS*-signed with it. */
  hmacSecret: string | undefined;
  discovery: { url: string; redirects: { from: string; to: string; status: number }[] };
}

/**
 * The `Authorization: Basic` value of RFC 6749 §2.3.1: id and secret form-urlencoded the way
 * URLSearchParams does (letters, digits and `*-._` stay as they are, space becomes `+`), then
 * base64. openid-client also escapes `-._~`, which some servers never decode.
 */
export function basicAuthorization(clientId: string, secret: string): string {
  const encode = (s: string) => new URLSearchParams([['', s]]).toString().slice(1);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

/** The client secret a setting needs, or a ConfigError naming the setting. */
export function requireSecret(settings: { clientSecret?: string | undefined }, needs: string): string {
  if (settings.clientSecret) return settings.clientSecret;
  throw new ConfigError(`${needs} needs a client secret, and none is configured.`, 'Set XTALK_CLIENT_SECRET (or client_secret via `xtalk config set client_secret`).');
}

/** Adds which client id and method were sent to a provider's invalid_client / unauthorized_client answer. */
export function explainClientError(e: unknown, client: ClientFacts): unknown {
  if (!(e instanceof ProviderError) || (e.error !== 'invalid_client' && e.error !== 'unauthorized_client')) return e;
  const sent = client.method === 'none' ? 'no client secret (method none)' : `the client secret with ${client.method}`;
  const other = client.method === 'client_secret_post' ? 'client_secret_basic' : 'client_secret_post';
  return new ProviderError(`${e.message.replace(/\.$/, '')}; xtalk sent client id ${quote(client.clientId)} and ${sent}.`, {
    error: e.error,
    errorDescription: e.errorDescription,
    hint:
      client.method === 'none'
        ? 'A confidential client needs XTALK_CLIENT_SECRET; check XTALK_CLIENT_ID too.'
        : `Check XTALK_CLIENT_ID and XTALK_CLIENT_SECRET; if they are right, the provider may expect XTALK_TOKEN_AUTH_METHOD=${other}.`,
    cause: e,
  });
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
    throw new ProviderError(`The ID token failed validation: cannot check an ${alg} signature.`, { hint: 'Set XTALK_ID_TOKEN_SIGNING_ALG to HS256, HS384, HS512 or an alg the provider publishes keys for.' });
  }
  const expected = createHmac(hash, Buffer.from(secret, 'utf8')).update(`${header}.${payload}`).digest();
  const got = Buffer.from(signature, 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new ProviderError(`The ID token failed validation: its ${alg} signature does not match the client secret.`, {
      hint: 'Nothing was stored. Check XTALK_CLIENT_SECRET; if the provider signs with its own keys instead, unset XTALK_ID_TOKEN_SIGNING_ALG.',
    });
  }
}

