import type { SecretAuthMethod, TokenAuthMethod } from '../core/oauth-terms.js';
import { ConfigError, ProviderError } from '../errors.js';
import { quote } from './error-text.js';

/** What a ProviderClient knows about how it presents itself, for messages and ID-token checks. */
export interface ClientFacts {
  /** The method set up; with `detection`, where detection started (it may have moved to the body since). */
  method: TokenAuthMethod;
  /** Present when no method is configured and the client has a secret (see auth-detection.ts). */
  detection?: { method: SecretAuthMethod; tried: SecretAuthMethod[] } | undefined;
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
  throw new ConfigError('CLIENT_SECRET_REQUIRED', `${needs} needs a client secret, and none is configured.`);
}

/** Adds which client id and method were sent to a provider's invalid_client / unauthorized_client answer. */
export function explainClientError(e: unknown, client: ClientFacts): unknown {
  if (!(e instanceof ProviderError) || (e.error !== 'invalid_client' && e.error !== 'unauthorized_client')) return e;
  const tried = client.detection?.tried.length ? client.detection.tried : [client.detection?.method ?? client.method];
  const method = tried[tried.length - 1]!;
  const sent = method === 'none' ? 'no client secret (method none)' : `the client secret with ${tried.join(', then with ')}`;
  return new ProviderError(
    'INVALID_CLIENT',
    `${e.message.replace(/\.$/, '')}; xtalk sent client id ${quote(client.clientId)} and ${sent}.`,
    {
      facts: { error: e.error, errorDescription: e.errorDescription, method, ...(tried.length > 1 ? { triedBoth: true } : {}) },
      cause: e,
    },
  );
}

export { verifyHmacIdToken } from './id-token-checks.js';
