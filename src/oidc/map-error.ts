import * as oidc from 'openid-client';
import { NetworkError, ProviderError, SessionExpiredError, XtalkError, type FactsOf } from '../errors.js';
import { bodyOf } from '../shared/bounded-fetch.js';
import { capitalize, isRefusedEndpointUrl, refusedEndpointMessage, validationReason } from './error-text.js';

/**
 * Turns what openid-client (and the fetch under it) throws into our typed errors, each with a
 * stable code and the facts its hint needs (src/hints.ts words them). `what` names the request in
 * the message ("the token refresh").
 */
export function mapError(e: unknown, what: string): Error {
  if (e instanceof XtalkError) return e;
  // openid-client wraps what our fetch throws (an oversized answer …) in "something went wrong".
  if ((e as Error | null)?.cause instanceof XtalkError) return (e as Error).cause as XtalkError;
  const response = responseOf(e);
  if (response && !(e instanceof oidc.ResponseBodyError) && !(e instanceof oidc.WWWAuthenticateChallengeError)) {
    return new ProviderError(
      'PROVIDER_ERROR',
      `The provider answered ${what} with HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`,
      {
        facts: { answer: 'status', status: response.status },
        cause: e,
      },
    );
  }
  if (e instanceof oidc.ResponseBodyError) {
    if (e.error === 'invalid_grant')
      return new SessionExpiredError('SESSION_EXPIRED', `The provider rejected the session (${describe(e)}).`, { cause: e });
    return refused(`The provider refused ${what} (${describe(e)}).`, e.error, e.error_description, e);
  }
  if (e instanceof oidc.AuthorizationResponseError) {
    return refused(`The provider refused the sign-in (${describe(e)}).`, e.error, e.error_description, e);
  }
  if (e instanceof oidc.WWWAuthenticateChallengeError) {
    const answer = oauthErrorOf(e);
    if (answer?.error === 'invalid_token')
      return new SessionExpiredError('SESSION_EXPIRED', 'The provider no longer accepts the access token.', { cause: e });
    const said = answer ? describe(answer) : `HTTP ${e.status}`;
    return refused(`The provider refused ${what} (${said}).`, answer?.error, answer?.error_description, e);
  }
  const err = e as Error & { code?: string; cause?: unknown };
  // openid-client wraps its own request timeout in a ClientError with one of these codes.
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'OAUTH_TIMEOUT' || err?.code === 'OAUTH_ABORT') {
    return new NetworkError('NETWORK_ERROR', `The provider did not answer ${what} in time.`, { facts: { timedOut: true }, cause: e });
  }
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) {
    const reason = (err.cause as Error | undefined)?.message ?? err.message;
    return new NetworkError('NETWORK_ERROR', `Cannot reach the provider for ${what}: ${reason}`, { cause: e });
  }
  if (err?.code === 'OAUTH_MISSING_SERVER_METADATA') {
    return new ProviderError('ENDPOINT_MISSING', `The provider's discovery document lacks what ${what} needs (${err.message}).`, {
      cause: e,
    });
  }
  if (isRefusedEndpointUrl(err)) {
    return new ProviderError('ENDPOINT_REFUSED', refusedEndpointMessage(`endpoint for ${what}`, undefined), { cause: e });
  }
  if (err instanceof oidc.ClientError || err?.name === 'OperationProcessingError' || typeof err?.code === 'string') {
    return new ProviderError('ID_TOKEN_INVALID', `${capitalize(what)} failed validation: ${validationReason(err)}`, { cause: e });
  }
  return err instanceof Error ? err : new Error(String(e));
}

function refused(message: string, error: string | undefined, errorDescription: string | undefined, cause: unknown): ProviderError {
  return new ProviderError('PROVIDER_ERROR', message, { facts: { answer: 'oauth', error, errorDescription }, cause });
}

/** Runs one provider call and turns openid-client's errors into ours. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapError(e, what);
  }
}

/** The codes a failed discovery had before DISCOVERY_FAILED: all of them mean "wrong or broken issuer" there. */
const DISCOVERY_FAILURES = new Set(['PROVIDER_ERROR', 'ID_TOKEN_INVALID', 'ENDPOINT_MISSING', 'ENDPOINT_REFUSED', 'RESPONSE_TOO_LARGE']);

/**
 * A provider that answers discovery with something unusable gets code DISCOVERY_FAILED, so scripts
 * can tell a wrong issuer from a refused request; an unreachable one stays NETWORK_ERROR.
 */
export function asDiscoveryFailure(e: unknown): unknown {
  if (!(e instanceof ProviderError) || !DISCOVERY_FAILURES.has(e.code)) return e;
  // With the code it had (`was`) and that code's facts: its hint still says what to fix.
  const facts = { ...e.facts, was: e.code } as unknown as FactsOf<'DISCOVERY_FAILED'>;
  return new ProviderError('DISCOVERY_FAILED', e.message, { facts, cause: e.cause });
}

/** OAuth errors that name the client (its credentials or registration) rather than the grant. */
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client']);

/**
 * A refused refresh grant that means the session ended (exit 4, "run `xtalk login`"), or undefined
 * when the refusal is about something else. xtalk's refresh request has a fixed, valid form, so a
 * 400 that does not name the client is about the refresh token: `invalid_grant`, and also the
 * `invalid_request` some providers answer an unknown or expired refresh token with. So is a bare 400
 * or 401 without a readable error. (`invalid_grant` at any status is mapError's.)
 */
export function endedSession(e: unknown): SessionExpiredError | undefined {
  const status = responseOf(e)?.status;
  const answer = oauthErrorOf(e);
  if (!answer && (status === 400 || status === 401)) {
    return new SessionExpiredError(
      'SESSION_EXPIRED',
      `The provider rejected the session (HTTP ${status} to the refresh, without an error code).`,
      { cause: e },
    );
  }
  if (answer && status === 400 && !CLIENT_ERRORS.has(answer.error)) {
    return new SessionExpiredError('SESSION_EXPIRED', `The provider rejected the session (${describe(answer)}).`, { cause: e });
  }
  return undefined;
}

/**
 * The OAuth error of a refusal: a ResponseBodyError's, or a challenge's (a `WWW-Authenticate`
 * answer): its `error` parameter, else the JSON body's (`Basic realm=…` with
 * `{"error":"invalid_client"}`; openid-client stops at the header and never reads the body).
 */
export function oauthErrorOf(e: unknown): { error: string; error_description?: string | undefined } | undefined {
  if (e instanceof oidc.ResponseBodyError) return { error: e.error, error_description: e.error_description };
  if (!(e instanceof oidc.WWWAuthenticateChallengeError)) return undefined;
  const params = e.cause.find((c) => c.parameters.error)?.parameters;
  if (params?.error) return { error: params.error, error_description: params.error_description };
  return errorBody(e.response);
}

/** The `error` (and `error_description`) of a JSON error body, read by boundedFetch already. */
function errorBody(res: Response): { error: string; error_description?: string | undefined } | undefined {
  const body = bodyOf(res);
  if (!body) return undefined;
  try {
    const doc = JSON.parse(body.toString('utf8')) as { error?: unknown; error_description?: unknown };
    if (typeof doc?.error !== 'string' || !doc.error) return undefined;
    return { error: doc.error, error_description: typeof doc.error_description === 'string' ? doc.error_description : undefined };
  } catch {
    return undefined;
  }
}

/** The HTTP response behind an openid-client error, when there was one. */
export function responseOf(e: unknown): Response | undefined {
  if (e instanceof oidc.ResponseBodyError || e instanceof oidc.WWWAuthenticateChallengeError) return e.response;
  const cause = (e as { cause?: unknown } | null)?.cause;
  return cause instanceof Response ? cause : undefined;
}

/** `error: description`, or the error alone. */
export function describe(e: { error: string; error_description?: string | undefined }): string {
  return e.error_description ? `${e.error}: ${e.error_description}` : e.error;
}
