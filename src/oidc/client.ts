import * as oidc from 'openid-client';
import { XtalkError } from '../errors.js';
import { anySignal } from '../shared/abort.js';
import { DEFAULT_SCOPE } from '../core/oauth-terms.js';
import { explainClientError, type ClientFacts } from './client-auth.js';
import { createAuthorizationRequest, exchangeCode } from './code-grant.js';
import { pollDeviceToken, startDeviceAuthorization } from './device-grant.js';
import { checkAuthorizedParty, checkAuthTime, listedAlgRefusal, verifyHmacIdToken, warmKeyImport } from './id-token-checks.js';
import { endedSession, mapError } from './map-error.js';
import { setUpProvider, type ProviderFetches } from './provider-setup.js';
import {
  afterSending,
  GRANT_ANSWER_SECONDS,
  grantFetch,
  notAnOAuthAnswer,
  retryDelayMs,
  salvageGrant,
  type GrantAnswer,
  type GrantTap,
} from './refresh-grant.js';
import { delay, revokeToken } from './revocation.js';
import type {
  AuthorizationRequest,
  AuthorizationRequestOptions,
  DeviceAuthorization,
  DevicePoll,
  ProviderSettings,
  RefreshOptions,
  RefreshResult,
  TokenResult,
} from '../core/provider-records.js';

// The files of this folder: provider-setup.ts (discovery and the openid-client Configuration),
// this class (the grants), code-grant.ts (the authorization request and the code's exchange),
// refresh-grant.ts (the refresh grant's own fetch and its answer), id-token-checks.ts (what xtalk
// checks beyond openid-client), device-grant.ts, revocation.ts, map-error.ts (openid-client's
// errors to ours); the records it returns are core/provider-records.ts.
export { AUTH_TIME_TOLERANCE_SECONDS } from './id-token-checks.js';

/** Tokens an access token without `expires_in` is assumed to live for: short, so it is renewed early. */
const UNKNOWN_LIFETIME_SECONDS = 300;

/**
 * One provider and one client, discovered and ready. src/oidc is the only importer of
 * openid-client; every failure leaves it as one of our typed errors, with a code (map-error.ts).
 */
export class ProviderClient {
  private constructor(
    private readonly config: oidc.Configuration,
    private readonly now: () => number,
    private readonly client: ClientFacts,
    private readonly fetches: ProviderFetches,
  ) {}

  /** Where the discovery document came from: the URL that answered and the redirects followed. */
  get discovery(): ClientFacts['discovery'] {
    return this.client.discovery;
  }

  /** Discovers the provider and sets up the client (see {@link setUpProvider}). */
  static async discover(settings: ProviderSettings): Promise<ProviderClient> {
    const { config, client, fetches } = await setUpProvider(settings);
    return new ProviderClient(config, settings.now ?? Date.now, client, fetches);
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
  createAuthorizationRequest(opts: AuthorizationRequestOptions): Promise<AuthorizationRequest> {
    return createAuthorizationRequest(this.config, opts, this.now);
  }

  /**
   * Validates the callback (state, `iss`) before any request, exchanges the code and validates the
   * ID token (signature, nonce …).
   */
  async exchangeCode(callbackUrl: URL, request: AuthorizationRequest): Promise<TokenResult> {
    const res = await exchangeCode(this.config, callbackUrl, request, (what, fn) => this.run(what, fn));
    const result = this.toResult(res, request.scope);
    // Not openid-client's maxAge check ("now - max_age"): the request time is the stricter bound.
    if (request.maxAge !== undefined) checkAuthTime(result.idClaims, request);
    return result;
  }

  /** Starts an RFC 8628 device authorization; a provider without the endpoint is a usage error (exit 2). */
  startDeviceAuthorization(scope: string): Promise<DeviceAuthorization> {
    return startDeviceAuthorization(this.config, scope, (what, fn) => this.run(what, fn));
  }

  /**
   * Polls the token endpoint once with a device code (see {@link pollDeviceToken}). An ID token is
   * validated as in {@link exchangeCode} (this grant has no nonce).
   */
  async pollDeviceToken(deviceCode: string, scope?: string): Promise<DevicePoll> {
    const poll = await pollDeviceToken(this.config, deviceCode, (e) => this.explain(e));
    return poll.status === 'approved' ? { status: 'approved', result: this.toResult(poll.response, scope ?? null) } : poll;
  }

  /**
   * Fetches the provider's signing keys (within the settings' deadline, or until `signal` aborts)
   * so that checking the ID token of a refresh or sign-in answer needs no request after the grant;
   * they are what openid-client itself would fetch, under the same rules, and its cache keeps them
   * 5 minutes at most. `warm` also imports one (see warmKeyImport). False when there are none to
   * fetch or they could not be had; the answer's check then fetches them itself.
   */
  async prefetchKeys({ signal, warm }: { signal?: AbortSignal; warm?: boolean } = {}): Promise<boolean> {
    const uri = this.config.serverMetadata().jwks_uri;
    if (this.client.hmacSecret !== undefined || !uri) return false;
    // openid-client's own rules for the keys endpoint: https, or http only where the issuer may be;
    // and no redirect followed.
    if (new URL(uri).protocol !== 'https:' && !this.fetches.insecure) return false;
    try {
      const res = await this.fetches.deadlined(uri, {
        headers: { accept: 'application/json, application/jwk-set+json' },
        redirect: 'manual',
        signal: anySignal([signal], this.fetches.timeoutMs),
      });
      if (!res.ok) return false;
      const jwks = (await res.json()) as { keys?: unknown };
      if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) return false;
      oidc.setJwksCache(this.config, { jwks: jwks as oidc.JWKS, uat: Math.floor(Date.now() / 1000) });
      if (warm) await warmKeyImport(jwks.keys);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Uses a refresh token. Once the request has left, its answer is awaited for `answerSeconds`
   * whatever the settings' deadline, and an answer that fails a check after it arrived (the ID
   * token, the keys endpoint) is still returned, unverified, so the rotated refresh token is kept.
   * A refusal that means the session ended becomes SessionExpiredError (see {@link endedSession}:
   * `invalid_grant`, another 400 that does not name the client, a bare 400 or 401). 5xx and
   * network failures stay errors: the session may be fine. One retry after a 429/503 whose
   * `Retry-After` fits the bound.
   */
  async refresh(refreshToken: string, opts: RefreshOptions = {}): Promise<RefreshResult> {
    const answerMs = (opts.answerSeconds ?? GRANT_ANSWER_SECONDS) * 1000;
    const sleep = opts.sleep ?? delay;
    const metadata = this.config.serverMetadata();
    const tokenEndpoint = metadata.token_endpoint ? new URL(metadata.token_endpoint).href : '';
    const jwksUri = metadata.jwks_uri ? new URL(metadata.jwks_uri).href : undefined;
    const previous = this.config[oidc.customFetch]!;
    const startedAt = this.now();
    const requestedScope = opts.scope ?? opts.sessionScope ?? null;
    try {
      for (let attempt = 0; ; attempt++) {
        const tap: GrantTap = { sent: false, answer: undefined, keysFailed: false };
        const onAnswer =
          opts.onAnswer &&
          ((answer: GrantAnswer) => {
            const grant = salvageGrant(answer, this.now(), UNKNOWN_LIFETIME_SECONDS, requestedScope);
            try {
              if (grant) opts.onAnswer!(grant);
            } catch {
              // The caller stores the result the usual way.
            }
          });
        this.config[oidc.customFetch] = grantFetch(this.fetches.inner, tokenEndpoint, jwksUri, answerMs, tap, onAnswer) as oidc.CustomFetch;
        try {
          const res = await oidc.refreshTokenGrant(this.config, refreshToken, opts.scope ? { scope: opts.scope } : undefined);
          return this.toResult(res, requestedScope);
        } catch (e) {
          const answer = tap.answer;
          if (answer?.status === 200) {
            const grant = salvageGrant(answer, this.now(), UNKNOWN_LIFETIME_SECONDS, requestedScope);
            if (!grant) throw notAnOAuthAnswer(answer);
            const error = this.explain(mapError(e, 'the token refresh'));
            return {
              grant,
              idClaims: undefined,
              unverified: { error: error instanceof Error ? error : new Error(String(error)), keysUnavailable: tap.keysFailed },
            };
          }
          const wait = attempt === 0 ? retryDelayMs(answer, this.now(), answerMs - (this.now() - startedAt)) : undefined;
          if (wait !== undefined) {
            await sleep(wait);
            continue;
          }
          throw this.refreshFailure(e, tap);
        }
      }
    } finally {
      this.config[oidc.customFetch] = previous;
    }
  }

  private refreshFailure(e: unknown, tap: GrantTap): unknown {
    const ended = endedSession(e);
    if (ended) return ended;
    const mapped = this.explain(mapError(e, 'the token refresh'));
    return mapped instanceof XtalkError ? afterSending(mapped, tap) : mapped;
  }

  /** Userinfo for a session; a different `sub` than expected is rejected by openid-client. */
  async userinfo(accessToken: string, expectedSub: string): Promise<Record<string, unknown>> {
    return { ...(await this.run('the userinfo request', () => oidc.fetchUserInfo(this.config, accessToken, expectedSub))) };
  }

  /** RFC 7009 revocation (see {@link revokeToken}): one retry after a 503. */
  revoke(token: string, hint: 'refresh_token' | 'access_token', sleep: (ms: number) => Promise<void> = delay): Promise<void> {
    return revokeToken(this.config, token, hint, { now: this.now, sleep, explain: (e) => this.explain(e) });
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
    return listedAlgRefusal(e, this.config) ?? explainClientError(e, this.client);
  }

  /** `requestedScope`: what the request asked for, which an answer without `scope` grants (RFC 6749 §5.1). */
  private toResult(res: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, requestedScope: string | null): TokenResult {
    // Now, not openid-client's expiresIn(): that rounds down to whole seconds when it is called, which
    // can make a token received later look older than the one before it.
    const receivedAt = this.now();
    const expiresIn =
      typeof res.expires_in === 'number' && Number.isFinite(res.expires_in) && res.expires_in >= 0
        ? res.expires_in
        : UNKNOWN_LIFETIME_SECONDS;
    if (res.id_token && this.client.hmacSecret !== undefined) {
      verifyHmacIdToken(res.id_token, String(this.config.clientMetadata().id_token_signed_response_alg), this.client.hmacSecret);
    }
    const tokenType = res.token_type.toLowerCase() === 'bearer' ? 'Bearer' : res.token_type;
    const claims = res.claims();
    checkAuthorizedParty(claims, this.config.clientMetadata().client_id);
    return {
      grant: {
        accessToken: res.access_token,
        tokenType,
        scope: res.scope ?? requestedScope,
        expiresAt: receivedAt + Math.round(expiresIn * 1000),
        refreshToken: res.refresh_token ?? null,
        idToken: res.id_token ?? null,
      },
      idClaims: claims ? { ...claims } : undefined,
    };
  }
}
