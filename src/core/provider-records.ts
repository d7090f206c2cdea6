import type { SecretAuthMethod, TokenAuthMethod, TokenGrant } from './oauth-terms.js';

/**
 * The provider records the use cases and the ports speak in: how to reach one provider as one
 * client, an authorization request, token and device answers. The provider client (oidc/) makes
 * them from openid-client's; nothing here depends on it.
 */

/** What the OIDC layer needs to talk to one provider as one client. */
export interface ProviderSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  /** Fills in a revocation endpoint missing from discovery; it must share the issuer's origin. */
  revocationEndpoint?: string | undefined;
  /** Where that endpoint came from (`XTALK_REVOCATION_ENDPOINT`, …), for the refusal message. */
  revocationEndpointFrom?: string | undefined;
  /** A full discovery URL the user gave, fetched verbatim. */
  discoveryUrl?: string | undefined;
  /** The ID-token alg this client is registered for; HS* is checked with the client secret. */
  idTokenSigningAlg?: string | undefined;
  tokenAuthMethod?: TokenAuthMethod | undefined;
  /** Without `tokenAuthMethod`: the method detected earlier for this issuer and client, and where a new one goes. */
  authMethodMemory?: AuthMethodMemory | undefined;
  fetch?: typeof fetch;
  /** Per-request limit in seconds. */
  timeoutSeconds?: number;
  /** Ends every request of this client once it fires (a limit on all of them together). */
  deadline?: AbortSignal | undefined;
  /**
   * Ends discovery (and only discovery) once it fires, with a CancelledError: Ctrl-C before anything
   * was sent for. Later requests ignore it, since an answer to a token grant must still be stored.
   */
  signal?: AbortSignal | undefined;
  now?: () => number;
}

/**
 * The client authentication method learned for one issuer and client (the store's LearnedAuthMethods
 * behind it): read once when the provider is set up, told when a refused Basic worked in the body.
 */
export interface AuthMethodMemory {
  learned(): SecretAuthMethod | undefined;
  remember(method: SecretAuthMethod): void;
}

/** The parameters a login must remember between building the URL and the callback. */
export interface AuthorizationRequest {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  /** Epoch ms when the URL was built; with `maxAge: 0` the ID token's `auth_time` must not be older. */
  requestedAt: number;
  maxAge: number | undefined;
  /** The scope asked for: what a token response without `scope` grants (RFC 6749 §5.1). */
  scope: string;
}

/** `prompt` values a login may send (OIDC Core 3.1.2.1). */
export type LoginPrompt = 'login' | 'select_account' | 'consent';

/** What a sign-in asks of the authorization endpoint; `state` when the listener had to know it first. */
export interface AuthorizationRequestOptions {
  redirectUri: string;
  scope: string;
  state?: string;
  loginHint?: string | undefined;
  prompt?: LoginPrompt | undefined;
  maxAge?: number | undefined;
}

/** A validated token response. */
export interface TokenResult {
  grant: TokenGrant;
  /** Claims of the validated ID token, when the response carried one. */
  idClaims: Record<string, unknown> | undefined;
}

/** How a refresh grant is sent. */
export interface RefreshOptions {
  scope?: string | undefined;
  /**
   * The scope the session holds (its latest access token's): a refresh without `scope` asks for it
   * again (RFC 6749 §6), so an answer without `scope` grants it (§5.1). Not sent.
   */
  sessionScope?: string | null | undefined;
  /** How long the answer is awaited once the request has left (default GRANT_ANSWER_SECONDS). */
  answerSeconds?: number;
  /** Waits before the one Retry-After retry (tests pass their own). */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Called synchronously the moment a 200 answer's body is in, with its tokens read without any
   * check (no ID token): the caller commits the rotated refresh token before anything else runs.
   * What it throws is ignored here (the result is returned as usual).
   */
  onAnswer?: (grant: TokenGrant) => void;
}

/**
 * A refresh answer. With `unverified`, a check after the answer failed: the grant holds what the
 * provider sent (no ID token), `idClaims` is undefined, and `keysUnavailable` says whether the
 * failure was the provider's keys endpoint (the ID token is then merely not verified yet).
 */
export interface RefreshResult extends TokenResult {
  unverified?: { error: Error; keysUnavailable: boolean };
}

/** An RFC 8628 device authorization: what the user is shown, and what the client polls with. */
export interface DeviceAuthorization {
  /** Secret: sent to the token endpoint only, never shown or logged. */
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  /** The verification URI with the user code in it; what a browser is given. */
  verificationUriComplete: string | undefined;
  /** Seconds the codes stay valid. */
  expiresIn: number;
  /** Seconds between polls, when the provider says (RFC 8628 default: 5). */
  interval: number | undefined;
}

/** One poll of the token endpoint with a device code. */
export type DevicePoll = { status: 'pending' } | { status: 'slow_down' } | { status: 'approved'; result: TokenResult };
