/**
 * URL rules every layer applies the same way (config checks, provider requests, the browser guard,
 * `xtalk api`): one owner each, no imports, so adapters and config can share them without a floor
 * running backwards.
 */

/** OIDC Discovery §4: the path after the issuer where its configuration document lives. */
export const DISCOVERY_SUFFIX = '/.well-known/openid-configuration';

/**
 * True for hosts that never leave the machine: only these may use plain `http:`. Takes a URL's
 * `hostname` (brackets around IPv6 allowed); WHATWG URL parsing already normalised IPv4 forms like
 * `127.1` or `0x7f.1` to dotted decimal.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** `https:`, or `http:` on a loopback host: the only URLs xtalk sends requests or secrets to. */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}
