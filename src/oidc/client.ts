import * as oidc from 'openid-client';
import { NetworkError, ProviderError, SessionExpiredError, UsageError, XtalkError } from '../errors.js';
import { checkSameOrigin } from '../config/endpoint-origin.js';
import { DEFAULT_SCOPE, isLoopbackHost, type TokenAuthMethod } from '../config/resolve.js';
import { boundedFetch, withDeadline } from './bounded-fetch.js';
import { basicAuthorization, explainClientError, requireSecret, verifyHmacIdToken, type ClientFacts } from './client-auth.js';
import { fetchDiscovery } from './discovery.js';
import {
  capitalize,
  hintFor,
  isRefusedEndpointUrl,
  quote,
  refusedEndpointText,
  rejectedAlg,
  retryAfterMs,
  signingAlgHint,
  validationReason,
  VALIDATION_HINT,
} from './error-text.js';
import type { TokenGrant } from '../store/types.js';

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
  fetch?: typeof fetch;
  /** Per-request limit in seconds. */
  timeoutSeconds?: number;
  /** Ends every request of this client once it fires (a limit on all of them together). */
  deadline?: AbortSignal | undefined;
  now?: () => number;
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
}

/** `prompt` values a login may send (OIDC Core 3.1.2.1). */
export type LoginPrompt = 'login' | 'select_account' | 'consent';

/** A validated token response. */
export interface TokenResult {
  grant: TokenGrant;
  /** Claims of the validated ID token, when the response carried one. */
  idClaims: Record<string, unknown> | undefined;
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

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Token-endpoint errors that end a device sign-in: message and hint. */
const DEVICE_GRANT_ERRORS: Record<string, [string, string]> = {
  access_denied: ['The sign-in was denied at the provider', 'Run `xtalk login --device` again and approve the request (or sign in as someone who may).'],
  expired_token: ['The code expired before the sign-in was approved', 'Run `xtalk login --device` again and enter the new code sooner.'],
  invalid_grant: ['The provider no longer accepts this device code', 'Run `xtalk login --device` again.'],
  unauthorized_client: [
    'The provider does not let this client use the device flow',
    'Ask the provider administrator to allow the device_code grant for this client, or use `xtalk login --manual`.',
  ],
};

/** Tokens an access token without `expires_in` is assumed to live for: short, so it is renewed early. */
const UNKNOWN_LIFETIME_SECONDS = 300;

/**
 * One provider and one client, discovered and ready. This module is the only importer of
 * openid-client; every failure leaves it as one of our typed errors.
 */
export class ProviderClient {
  private constructor(
    private readonly config: oidc.Configuration,
    private readonly now: () => number,
    private readonly client: ClientFacts,
  ) {}

  /** Where the discovery document came from: the URL that answered and the redirects followed. */
  get discovery(): ClientFacts['discovery'] {
    return this.client.discovery;
  }

  /**
   * Fetches the discovery document (see {@link fetchDiscovery}: verbatim discovery URL, same-origin
   * redirects, exact issuer); a loopback `http:` issuer is allowed, nothing else insecure.
   */
  static async discover(settings: ProviderSettings): Promise<ProviderClient> {
    const issuerUrl = new URL(settings.issuer);
    const method = settings.tokenAuthMethod ?? (settings.clientSecret ? 'client_secret_basic' : 'none');
    const auth = clientAuthentication(method, settings.clientId, settings.clientSecret);
    const alg = settings.idTokenSigningAlg;
    // HS* ID tokens are MACs under the client secret: openid-client cannot check those, toResult does.
    const hmacSecret = alg?.startsWith('HS') ? requireSecret(settings, `XTALK_ID_TOKEN_SIGNING_ALG=${alg}`) : undefined;
    const execute = hmacSecret === undefined ? [oidc.enableNonRepudiationChecks] : [];
    if (issuerUrl.protocol === 'http:' && isLoopbackHost(issuerUrl.hostname)) execute.push(oidc.allowInsecureRequests);
    const timeout = settings.timeoutSeconds ?? 30;
    const inner = settings.fetch ?? fetch;
    const boundFetch = boundedFetch(settings.deadline ? withDeadline(inner, settings.deadline) : inner);
    const doc = await call(`discovery at ${settings.discoveryUrl ?? settings.issuer}`, () =>
      fetchDiscovery({ issuer: settings.issuer, discoveryUrl: settings.discoveryUrl, fetch: boundFetch, timeoutMs: timeout * 1000 }),
    ).catch((e: unknown) => {
      throw asDiscoveryFailure(e);
    });
    const discovered = doc.metadata as oidc.ServerMetadata;
    const fillRevocation = Boolean(settings.revocationEndpoint && !discovered.revocation_endpoint);
    if (fillRevocation) checkSameOrigin(settings.issuer, settings.revocationEndpoint!, 'revocation endpoint', settings.revocationEndpointFrom);
    const server: oidc.ServerMetadata = fillRevocation ? { ...discovered, revocation_endpoint: settings.revocationEndpoint } : discovered;
    const metadata: Partial<oidc.ClientMetadata> = {};
    if (settings.clientSecret && method !== 'none') metadata.client_secret = settings.clientSecret;
    if (alg) metadata.id_token_signed_response_alg = alg;
    const config = new oidc.Configuration(server, settings.clientId, metadata, auth);
    for (const fn of execute) fn(config);
    config.timeout = timeout;
    config[oidc.customFetch] = boundFetch as oidc.CustomFetch;
    return new ProviderClient(config, settings.now ?? Date.now, {
      method,
      clientId: settings.clientId,
      hmacSecret,
      discovery: { url: doc.url, redirects: doc.redirects },
    });
  }

  get issuer(): string {
    return this.config.serverMetadata().issuer;
  }

  get revocationEndpoint(): string | undefined {
    return this.config.serverMetadata().revocation_endpoint;
  }

  get hasUserinfo(): boolean {
    return Boolean(this.config.serverMetadata().userinfo_endpoint);
  }

  get deviceAuthorizationEndpoint(): string | undefined {
    return this.config.serverMetadata().device_authorization_endpoint;
  }

  /** Whether discovery lists `scopes_supported`; without it an unknown scope can only be found by asking. */
  get publishesScopes(): boolean {
    return Array.isArray(this.config.serverMetadata().scopes_supported);
  }

  /** RP-Initiated Logout 1.0: where the provider's browser session can be ended, when it says. */
  get endSessionEndpoint(): string | undefined {
    return this.config.serverMetadata().end_session_endpoint;
  }

  /**
   * The end-session URL with `id_token_hint` (when known), `client_id`, `state` and the
   * `post_logout_redirect_uri`; undefined without an end_session_endpoint.
   */
  buildEndSessionUrl(opts: { idTokenHint: string | undefined; postLogoutRedirectUri: string; state: string }): string | undefined {
    if (!this.endSessionEndpoint) return undefined;
    return oidc.buildEndSessionUrl(this.config, {
      ...(opts.idTokenHint ? { id_token_hint: opts.idTokenHint } : {}),
      post_logout_redirect_uri: opts.postLogoutRedirectUri,
      state: opts.state,
    }).href;
  }

  /** The default scopes narrowed to `scopes_supported` when the provider publishes that list. */
  defaultScope(): string {
    const supported = this.config.serverMetadata().scopes_supported;
    if (!supported) return DEFAULT_SCOPE;
    return DEFAULT_SCOPE.split(' ')
      .filter((s) => s === 'openid' || supported.includes(s))
      .join(' ');
  }

  /**
   * Builds the authorization URL with PKCE S256, a fresh nonce and a fresh state (or the one given,
   * when the listener had to know it before the URL existed).
   */
  async createAuthorizationRequest(opts: {
    redirectUri: string;
    scope: string;
    state?: string;
    loginHint?: string | undefined;
    prompt?: LoginPrompt | undefined;
    maxAge?: number | undefined;
  }): Promise<AuthorizationRequest> {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = opts.state ?? oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
    let url: URL;
    try {
      url = oidc.buildAuthorizationUrl(this.config, {
        redirect_uri: opts.redirectUri,
        response_type: 'code',
        scope: opts.scope,
        state,
        nonce,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
        ...(opts.loginHint ? { login_hint: opts.loginHint } : {}),
        ...(opts.prompt ? { prompt: opts.prompt } : {}),
        ...(opts.maxAge !== undefined ? { max_age: String(opts.maxAge) } : {}),
      });
    } catch (e) {
      if (!isRefusedEndpointUrl(e)) throw mapError(e, 'the authorization request');
      const { message, hint } = refusedEndpointText('authorization endpoint', this.config.serverMetadata().authorization_endpoint);
      throw new ProviderError(message, { hint, cause: e });
    }
    return { url: url.href, state, nonce, codeVerifier, redirectUri: opts.redirectUri, requestedAt: this.now(), maxAge: opts.maxAge };
  }

  /**
   * Validates the callback (state, `iss`) before any request, exchanges the code and validates the
   * ID token (signature, nonce …).
   */
  async exchangeCode(callbackUrl: URL, request: AuthorizationRequest): Promise<TokenResult> {
    const res = await this.run('the token exchange', async () => {
      try {
        return await oidc.authorizationCodeGrant(this.config, callbackUrl, {
          expectedState: request.state,
          expectedNonce: request.nonce,
          pkceCodeVerifier: request.codeVerifier,
          idTokenExpected: true,
        });
      } catch (e) {
        // Here invalid_grant is about the code (expired, used), not a stored session.
        if (e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant') {
          throw new ProviderError(`The provider refused the authorization code (${describe(e)}).`, {
            error: e.error,
            errorDescription: e.error_description,
            hint: 'A code expires within a minute and works once: run `xtalk login` again and finish promptly.',
            cause: e,
          });
        }
        throw e;
      }
    });
    const result = this.toResult(res);
    // Not openid-client's maxAge check ("now - max_age"): the request time is the stricter bound.
    if (request.maxAge !== undefined) checkAuthTime(result.idClaims, request);
    return result;
  }

  /** Starts an RFC 8628 device authorization; a provider without the endpoint is a usage error (exit 2). */
  async startDeviceAuthorization(scope: string): Promise<DeviceAuthorization> {
    if (!this.deviceAuthorizationEndpoint) {
      throw new UsageError(
        `The provider at ${this.issuer} does not offer the device flow: its discovery document has no device_authorization_endpoint.`,
        'Use `xtalk login --no-browser` (with ssh -L) or `xtalk login --manual` instead.',
      );
    }
    const res = await this.run('the device authorization request', () => oidc.initiateDeviceAuthorization(this.config, { scope }));
    return {
      deviceCode: res.device_code,
      userCode: res.user_code,
      verificationUri: res.verification_uri,
      verificationUriComplete: res.verification_uri_complete,
      expiresIn: res.expires_in,
      interval: res.interval,
    };
  }

  /**
   * Polls the token endpoint once with a device code. `authorization_pending` and `slow_down` are
   * answers, not errors; `access_denied` and `expired_token` end the sign-in with a ProviderError.
   * An ID token is validated as in {@link exchangeCode} (this grant has no nonce).
   */
  async pollDeviceToken(deviceCode: string): Promise<DevicePoll> {
    let res: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      res = await oidc.genericGrantRequest(this.config, DEVICE_CODE_GRANT, { device_code: deviceCode });
    } catch (e) {
      if (!(e instanceof oidc.ResponseBodyError)) throw this.explain(mapError(e, 'the device token request'));
      if (e.error === 'authorization_pending') return { status: 'pending' };
      if (e.error === 'slow_down') return { status: 'slow_down' };
      const ending = DEVICE_GRANT_ERRORS[e.error];
      if (!ending) throw this.explain(mapError(e, 'the device token request'));
      throw new ProviderError(`${ending[0]} (${describe(e)}).`, { error: e.error, errorDescription: e.error_description, hint: ending[1], cause: e });
    }
    return { status: 'approved', result: this.toResult(res) };
  }

  /**
   * Uses a refresh token; `invalid_grant` becomes SessionExpiredError, and so does a bare 400 or 401
   * without a readable error (providers answer a dead refresh token that way too). 5xx and network
   * failures stay errors: the session may be fine.
   */
  async refresh(refreshToken: string, scope?: string): Promise<TokenResult> {
    const res = await this.run('the token refresh', async () => {
      try {
        return await oidc.refreshTokenGrant(this.config, refreshToken, scope ? { scope } : undefined);
      } catch (e) {
        const status = responseOf(e)?.status;
        const readable = e instanceof oidc.ResponseBodyError || (e instanceof oidc.WWWAuthenticateChallengeError && e.cause[0]?.parameters.error);
        if ((status === 400 || status === 401) && !readable) {
          throw new SessionExpiredError(`The provider rejected the session (HTTP ${status} to the refresh, without an error code).`, { cause: e });
        }
        throw e;
      }
    });
    return this.toResult(res);
  }

  /** Userinfo for a session; a different `sub` than expected is rejected by openid-client. */
  async userinfo(accessToken: string, expectedSub: string): Promise<Record<string, unknown>> {
    return { ...(await this.run('the userinfo request', () => oidc.fetchUserInfo(this.config, accessToken, expectedSub))) };
  }

  /**
   * RFC 7009 revocation; HTTP 200 counts as revoked, also for a token the provider no longer knows.
   * A 503 is retried once, after its `Retry-After` (at most 30 s).
   */
  async revoke(token: string, hint: 'refresh_token' | 'access_token', sleep: (ms: number) => Promise<void> = delay): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await oidc.tokenRevocation(this.config, token, { token_type_hint: hint });
        return;
      } catch (e) {
        const response = responseOf(e);
        if (response?.status === 503 && attempt === 0) {
          await sleep(retryAfterMs(response.headers.get('retry-after'), this.now()));
          continue;
        }
        throw this.explain(mapError(e, 'the revocation request'));
      }
    }
  }

  /** Runs one provider call of this client: errors mapped, then explained with what this client sent. */
  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.explain(mapError(e, what));
    }
  }

  private explain(e: unknown): unknown {
    const alg = rejectedAlg(e);
    if (alg && e instanceof ProviderError && e.hint === VALIDATION_HINT && alg !== this.config.clientMetadata().id_token_signed_response_alg) {
      const listed = this.config.serverMetadata().id_token_signing_alg_values_supported;
      if (listed?.includes(alg)) {
        const configured = this.config.clientMetadata().id_token_signed_response_alg;
        return new ProviderError(e.message, { error: e.error, errorDescription: e.errorDescription, hint: signingAlgHint(alg, configured), cause: e });
      }
    }
    return explainClientError(e, this.client);
  }

  private toResult(res: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): TokenResult {
    // Now, not openid-client's expiresIn(): that rounds down to whole seconds when it is called, which
    // can make a token received later look older than the one before it.
    const receivedAt = this.now();
    const expiresIn = typeof res.expires_in === 'number' && Number.isFinite(res.expires_in) && res.expires_in >= 0 ? res.expires_in : UNKNOWN_LIFETIME_SECONDS;
    if (res.id_token && this.client.hmacSecret !== undefined) {
      verifyHmacIdToken(res.id_token, String(this.config.clientMetadata().id_token_signed_response_alg), this.client.hmacSecret);
    }
    const tokenType = res.token_type.toLowerCase() === 'bearer' ? 'Bearer' : res.token_type;
    const claims = res.claims();
    // OIDC Core 3.1.3.7: openid-client checks `azp` only when `aud` lists several clients; xtalk asked
    // for this token itself, so any other authorized party means it was issued to someone else.
    const clientId = this.config.clientMetadata().client_id;
    if (claims?.azp !== undefined && claims.azp !== clientId) {
      throw new ProviderError(
        `The ID token failed validation: unexpected ID Token "azp" (authorized party) claim value (expected ${quote(clientId)}, got ${quote(claims.azp)})`,
        { hint: VALIDATION_HINT },
      );
    }
    return {
      grant: {
        accessToken: res.access_token,
        tokenType,
        scope: res.scope ?? null,
        expiresAt: receivedAt + Math.round(expiresIn * 1000),
        refreshToken: res.refresh_token ?? null,
        idToken: res.id_token ?? null,
      },
      idClaims: claims ? { ...claims } : undefined,
    };
  }
}

/** How far the provider's clock may lag behind ours before a fresh sign-in looks old. */
export const AUTH_TIME_TOLERANCE_SECONDS = 30;

/**
 * OIDC Core 3.1.2.1 `max_age`: the ID token must carry `auth_time`, and it must not be older than
 * the request minus `max_age` (and the clock tolerance) — `max_age=0` means "signed in just now".
 */
function checkAuthTime(claims: Record<string, unknown> | undefined, request: AuthorizationRequest): void {
  const authTime = claims?.auth_time;
  const hint = 'The provider did not make you sign in again although xtalk asked it to (prompt=login, max_age=0); run `xtalk login --fresh` again, or ask the provider administrator.';
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) {
    throw new ProviderError('The ID token has no auth_time, so xtalk cannot tell whether you just signed in; nothing was stored.', { hint });
  }
  const oldest = Math.floor(request.requestedAt / 1000) - (request.maxAge ?? 0) - AUTH_TIME_TOLERANCE_SECONDS;
  if (authTime < oldest) {
    throw new ProviderError(
      `The provider reused a sign-in from ${new Date(authTime * 1000).toISOString()}, older than this login (auth_time check); nothing was stored.`,
      { hint },
    );
  }
}

/**
 * A provider that answers discovery with something unusable gets code DISCOVERY_FAILED, so scripts
 * can tell a wrong issuer from a refused request; an unreachable one stays NETWORK_ERROR.
 */
function asDiscoveryFailure(e: unknown): unknown {
  if (!(e instanceof ProviderError) || e.code !== 'PROVIDER_ERROR') return e;
  return new ProviderError(e.message, { error: e.error, errorDescription: e.errorDescription, hint: e.hint, cause: e.cause, code: 'DISCOVERY_FAILED' });
}

/** Runs one provider call and turns openid-client's errors into ours. */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapError(e, what);
  }
}

function mapError(e: unknown, what: string): Error {
  if (e instanceof XtalkError) return e;
  // openid-client wraps what our fetch throws (an oversized answer …) in "something went wrong".
  if ((e as Error | null)?.cause instanceof XtalkError) return (e as Error).cause as XtalkError;
  const response = responseOf(e);
  if (response && !(e instanceof oidc.ResponseBodyError) && !(e instanceof oidc.WWWAuthenticateChallengeError)) {
    return new ProviderError(`The provider answered ${what} with HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`, {
      hint: response.status >= 500 ? 'The provider has a problem; try again later.' : hintFor(undefined),
      cause: e,
    });
  }
  if (e instanceof oidc.ResponseBodyError) {
    const detail = e.error_description ? `${e.error}: ${e.error_description}` : e.error;
    if (e.error === 'invalid_grant') {
      return new SessionExpiredError(`The provider rejected the session (${detail}).`, { cause: e });
    }
    return new ProviderError(`The provider refused ${what} (${detail}).`, {
      error: e.error,
      errorDescription: e.error_description,
      hint: hintFor(e.error),
      cause: e,
    });
  }
  if (e instanceof oidc.AuthorizationResponseError) {
    const detail = e.error_description ? `${e.error}: ${e.error_description}` : e.error;
    return new ProviderError(`The provider refused the sign-in (${detail}).`, {
      error: e.error,
      errorDescription: e.error_description,
      hint: hintFor(e.error),
      cause: e,
    });
  }
  if (e instanceof oidc.WWWAuthenticateChallengeError) {
    const error = e.cause[0]?.parameters.error;
    if (error === 'invalid_token') return new SessionExpiredError('The provider no longer accepts the access token.', { cause: e });
    return new ProviderError(`The provider refused ${what} (${error ?? `HTTP ${e.status}`}).`, { error, hint: hintFor(error), cause: e });
  }
  const err = e as Error & { code?: string; cause?: unknown };
  // openid-client wraps its own request timeout in a ClientError with one of these codes.
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'OAUTH_TIMEOUT' || err?.code === 'OAUTH_ABORT') {
    return new NetworkError(`The provider did not answer ${what} in time.`, {
      hint: 'Check the network and the issuer URL; XTALK_HTTP_TIMEOUT sets how many seconds xtalk waits for each request (default 30).',
      cause: e,
    });
  }
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) {
    const reason = (err.cause as Error | undefined)?.message ?? err.message;
    return new NetworkError(`Cannot reach the provider for ${what}: ${reason}`, { cause: e });
  }
  if (err?.code === 'OAUTH_MISSING_SERVER_METADATA') {
    return new ProviderError(`The provider's discovery document lacks what ${what} needs (${err.message}).`, {
      hint: 'The provider does not publish this endpoint; see `xtalk doctor`, and set it in the configuration if the provider has one.',
      cause: e,
    });
  }
  if (isRefusedEndpointUrl(err)) {
    const { message, hint } = refusedEndpointText(`endpoint for ${what}`, undefined);
    return new ProviderError(message, { hint, cause: e });
  }
  if (err instanceof oidc.ClientError || err?.name === 'OperationProcessingError' || typeof err?.code === 'string') {
    return new ProviderError(`${capitalize(what)} failed validation: ${validationReason(err)}`, { hint: VALIDATION_HINT, cause: e });
  }
  return err instanceof Error ? err : new Error(String(e));
}

/** The HTTP response behind an openid-client error, when there was one. */
function responseOf(e: unknown): Response | undefined {
  if (e instanceof oidc.ResponseBodyError || e instanceof oidc.WWWAuthenticateChallengeError) return e.response;
  const cause = (e as { cause?: unknown } | null)?.cause;
  return cause instanceof Response ? cause : undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(e: oidc.ResponseBodyError): string {
  return e.error_description ? `${e.error}: ${e.error_description}` : e.error;
}

/** openid-client's client authentication for a method; Basic is ours (see basicAuthorization). */
function clientAuthentication(method: TokenAuthMethod, clientId: string, clientSecret: string | undefined): oidc.ClientAuth {
  if (method === 'none') return oidc.None();
  const secret = requireSecret({ clientSecret }, `XTALK_TOKEN_AUTH_METHOD=${method}`);
  if (method === 'client_secret_post') return oidc.ClientSecretPost(secret);
  return (_as, _client, _body, headers) => {
    headers.set('authorization', basicAuthorization(clientId, secret));
  };
}
