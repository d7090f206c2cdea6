/**
 * Reading a resource server's `WWW-Authenticate` answer (RFC 6750 §3). Shared by everything that
 * sends a stored access token to an API and retries once after a refresh.
 */

// A token (RFC 9110 §5.6.2), then optionally `= value` (a quoted string or a token / token68).
const ITEM = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*))?\s*(,?)/y;

/** The auth-params of the `Bearer` challenge in a `WWW-Authenticate` value, lower-cased names; undefined without one. */
export function bearerChallengeParams(header: string | null | undefined): Record<string, string> | undefined {
  if (!header) return undefined;
  let scheme: string | undefined;
  let params: Record<string, string> | undefined;
  ITEM.lastIndex = 0;
  for (let m = ITEM.exec(header); m && m[0] !== ''; m = ITEM.exec(header)) {
    const [, name, rawValue] = m;
    if (rawValue === undefined) {
      // A bare token starts the next challenge (`Bearer realm=…, DPoP algs=…`).
      if (scheme?.toLowerCase() === 'bearer') break;
      scheme = name;
      if (scheme!.toLowerCase() === 'bearer') params = {};
      continue;
    }
    if (params) params[name!.toLowerCase()] = rawValue.startsWith('"') ? rawValue.slice(1, -1).replace(/\\(.)/g, '$1') : rawValue;
  }
  return params;
}

/**
 * True when a response refuses the access token itself (401 with a Bearer challenge saying
 * `error="invalid_token"`): expired early or revoked, so one refresh and one retry may help. Any
 * other 401 or 403 (a missing scope, a wrong audience) would fail again with a new token.
 */
export function isInvalidTokenChallenge(response: Pick<Response, 'status' | 'headers'>): boolean {
  if (response.status !== 401) return false;
  return bearerChallengeParams(response.headers.get('www-authenticate'))?.error === 'invalid_token';
}
