/**
 * URL terms every layer uses the same way. Which hosts are loopback (and so may use plain `http:`)
 * is a trust rule and lives in src/core/url-rules.ts.
 */

/** OIDC Discovery §4: the path after the issuer where its configuration document lives. */
export const DISCOVERY_SUFFIX = '/.well-known/openid-configuration';

/**
 * `path` below `base` with exactly one slash between them, the query kept: `xtalk api devices` and
 * `createFetch({ baseUrl })('devices')` both mean `<base>/devices`, also when base has a path.
 */
export function joinBelow(base: string | URL, path: string): URL {
  return new URL(`${String(base).replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
}
