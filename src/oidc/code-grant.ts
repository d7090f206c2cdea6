import * as oidc from 'openid-client';
import { ProviderError } from '../errors.js';
import { isRefusedEndpointUrl, refusedEndpointMessage } from './error-text.js';
import { describe, mapError } from './map-error.js';
import type { AuthorizationRequest, AuthorizationRequestOptions } from '../core/provider-records.js';

/** The authorization code grant with PKCE: the request the browser opens, and the code's exchange. */

/**
 * Builds the authorization URL with PKCE S256, a fresh nonce and a fresh state (or the one given,
 * when the listener had to know it before the URL existed).
 */
export async function createAuthorizationRequest(
  config: oidc.Configuration,
  opts: AuthorizationRequestOptions,
  now: () => number,
): Promise<AuthorizationRequest> {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = opts.state ?? oidc.randomState();
  const nonce = oidc.randomNonce();
  const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
  let url: URL;
  try {
    url = oidc.buildAuthorizationUrl(config, {
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
    const message = refusedEndpointMessage('authorization endpoint', config.serverMetadata().authorization_endpoint);
    throw new ProviderError('ENDPOINT_REFUSED', message, { cause: e });
  }
  return {
    url: url.href,
    state,
    nonce,
    codeVerifier,
    redirectUri: opts.redirectUri,
    requestedAt: now(),
    maxAge: opts.maxAge,
    scope: opts.scope,
  };
}

/**
 * Validates the callback (state, `iss`) before any request, exchanges the code and validates the
 * ID token (signature, nonce …); `run` maps and explains what fails.
 */
export function exchangeCode(
  config: oidc.Configuration,
  callbackUrl: URL,
  request: AuthorizationRequest,
  run: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  return run('the token exchange', async () => {
    try {
      return await oidc.authorizationCodeGrant(config, callbackUrl, {
        expectedState: request.state,
        expectedNonce: request.nonce,
        pkceCodeVerifier: request.codeVerifier,
        idTokenExpected: true,
      });
    } catch (e) {
      // Here invalid_grant is about the code (expired, used), not a stored session.
      if (e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant') {
        throw new ProviderError('AUTHORIZATION_CODE_REJECTED', `The provider refused the authorization code (${describe(e)}).`, {
          facts: { error: e.error, errorDescription: e.error_description },
          cause: e,
        });
      }
      throw e;
    }
  });
}
