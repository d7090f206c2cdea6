/**
 * Which hosts never leave the machine, and so may be reached over plain `http:`. Every layer asks
 * here (config checks, provider requests, the browser guard, the bearer rule): one owner, no imports.
 */

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
