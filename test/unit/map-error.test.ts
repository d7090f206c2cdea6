import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { ProviderError, SessionExpiredError } from '../../src/errors.js';
import { explainClientError } from '../../src/oidc/client-auth.js';
import { endedSession, mapError, oauthErrorOf } from '../../src/oidc/map-error.js';
import { boundedFetch } from '../../src/shared/bounded-fetch.js';

/** An answer as the provider client sees it: read through boundedFetch, like every provider answer. */
async function answer(status: number, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain' : 'application/json';
  return boundedFetch(async () => new Response(text, { status, headers: { 'content-type': type, ...headers } }))(
    'http://127.0.0.1:1/token',
  );
}

async function bodyError(status: number, body: { error: string; error_description?: string }): Promise<oidc.ResponseBodyError> {
  return new oidc.ResponseBodyError('server responded with an error in the response body', {
    cause: body,
    response: await answer(status, body),
  });
}

async function challenge(params: Record<string, string>, body: unknown, status = 401): Promise<oidc.WWWAuthenticateChallengeError> {
  const response = await answer(status, body, { 'www-authenticate': 'Basic realm="x"' });
  return new oidc.WWWAuthenticateChallengeError('server responded with a challenge in the WWW-Authenticate HTTP Header', {
    cause: [{ scheme: 'basic', parameters: { realm: 'x', ...params } }],
    response,
  });
}

const client = { method: 'client_secret_basic' as const, clientId: 'cli', hmacSecret: undefined, discovery: { url: '', redirects: [] } };

describe('a WWW-Authenticate challenge at the token endpoint', () => {
  it('reads the error from the JSON body when the challenge names none (Basic realm=… only)', async () => {
    const e = await challenge({}, { error: 'invalid_client', error_description: 'client authentication failed' });
    expect(oauthErrorOf(e)).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    const mapped = mapError(e, 'the token exchange');
    expect(mapped).toMatchObject({ code: 'PROVIDER_ERROR', error: 'invalid_client' });
    expect(mapped.message).toBe('The provider refused the token exchange (invalid_client: client authentication failed).');
    expect(explainClientError(mapped, client)).toMatchObject({ code: 'INVALID_CLIENT', facts: { method: 'client_secret_basic' } });
  });

  it("prefers the challenge's own error, and says HTTP 401 when neither header nor body has one", async () => {
    expect(oauthErrorOf(await challenge({ error: 'invalid_client' }, { error: 'other' }))).toMatchObject({ error: 'invalid_client' });
    const bare = await challenge({}, 'Unauthorized');
    expect(oauthErrorOf(bare)).toBeUndefined();
    expect(mapError(bare, 'the token exchange').message).toBe('The provider refused the token exchange (HTTP 401).');
    expect(oauthErrorOf(await challenge({}, { error: 42 }))).toBeUndefined();
  });
});

describe('endedSession: which refusals of the refresh grant end the session', () => {
  it('a 400 that does not name the client: invalid_request, invalid_scope, an unknown error', async () => {
    for (const error of ['invalid_request', 'invalid_scope', 'unsupported_grant_type', 'something_else']) {
      const ended = endedSession(await bodyError(400, { error, error_description: 'refresh token not found' }));
      expect(ended, error).toBeInstanceOf(SessionExpiredError);
      expect(ended).toMatchObject({ code: 'SESSION_EXPIRED', exitCode: 4 });
      expect(ended!.message).toBe(`The provider rejected the session (${error}: refresh token not found).`);
    }
  });

  it('a bare 400 or 401, also behind a challenge without an error', async () => {
    expect(endedSession(await challenge({}, 'Unauthorized'))?.message).toMatch(/HTTP 401 to the refresh, without an error code/);
    // openid-client's "unexpected HTTP response status code" carries the answer as its cause.
    const bare400 = new Error('unexpected HTTP response status code', { cause: await answer(400, '') });
    expect(endedSession(bare400)?.message).toMatch(/HTTP 400 to the refresh, without an error code/);
  });

  it('not a refusal naming the client (also behind a challenge), nor 401/5xx with an error', async () => {
    for (const error of ['invalid_client', 'unauthorized_client']) {
      expect(endedSession(await bodyError(400, { error })), error).toBeUndefined();
      expect(endedSession(await challenge({}, { error })), error).toBeUndefined();
    }
    expect(endedSession(await bodyError(401, { error: 'invalid_request' }))).toBeUndefined();
    expect(endedSession(await bodyError(503, { error: 'temporarily_unavailable' }))).toBeUndefined();
    // invalid_grant at any status is mapError's.
    expect(mapError(await bodyError(401, { error: 'invalid_grant' }), 'the token refresh')).toBeInstanceOf(SessionExpiredError);
    expect(mapError(await bodyError(400, { error: 'invalid_client' }), 'the token refresh')).toBeInstanceOf(ProviderError);
  });
});
