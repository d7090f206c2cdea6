import { describe, expect, it } from 'vitest';
import { bearerChallengeParams, isInvalidTokenChallenge } from '../../src/net/bearer-challenge.js';

const answer = (status: number, challenge?: string) => ({
  status,
  headers: new Headers(challenge === undefined ? {} : { 'www-authenticate': challenge }),
});

describe('WWW-Authenticate: Bearer (RFC 6750 §3)', () => {
  it.each([
    [
      'Bearer realm="example", error="invalid_token", error_description="The access token expired"',
      { realm: 'example', error: 'invalid_token', error_description: 'The access token expired' },
    ],
    ['Bearer error=invalid_token', { error: 'invalid_token' }],
    ['bearer ERROR="invalid_token"', { error: 'invalid_token' }],
    ['Basic realm="x", Bearer error="invalid_token"', { error: 'invalid_token' }],
    [
      'DPoP algs="ES256", Bearer realm="a\\"b", error="insufficient_scope", scope="x y"',
      { realm: 'a"b', error: 'insufficient_scope', scope: 'x y' },
    ],
    ['Bearer realm="a", DPoP error="invalid_token"', { realm: 'a' }],
    ['Bearer', {}],
  ])('%s', (header, params) => {
    expect(bearerChallengeParams(header)).toEqual(params);
  });

  it('no Bearer challenge at all', () => {
    for (const header of ['Basic realm="x"', '', null, undefined, 'DPoP error="invalid_token"'])
      expect(bearerChallengeParams(header)).toBeUndefined();
  });

  it('only a 401 that refuses the token itself is worth a refresh and a retry', () => {
    expect(isInvalidTokenChallenge(answer(401, 'Bearer error="invalid_token"'))).toBe(true);
    expect(isInvalidTokenChallenge(answer(401, 'Basic realm="x", Bearer realm="api", error="invalid_token"'))).toBe(true);
    expect(isInvalidTokenChallenge(answer(401))).toBe(false);
    expect(isInvalidTokenChallenge(answer(401, 'Bearer realm="api"'))).toBe(false);
    expect(isInvalidTokenChallenge(answer(401, 'Bearer error="insufficient_scope"'))).toBe(false);
    expect(isInvalidTokenChallenge(answer(403, 'Bearer error="invalid_token"'))).toBe(false);
    expect(isInvalidTokenChallenge(answer(401, 'DPoP error="invalid_token"'))).toBe(false);
  });
});
