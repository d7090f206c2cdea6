import { isLoopbackHost } from './url-rules.js';

/**
 * Where a bearer token may go: the one rule for `xtalk api`, `createFetch` and every later door.
 *
 * A request may carry the token when its origin is the configured API origin, the issuer's origin,
 * or one the caller named in code or on the command line; and when it travels over `https:`, over
 * `http:` to a loopback host, or over `http:` to an origin the user opted into by name
 * (`insecure_http_origins`, never from a folder's `.env`). Everything else is refused before any
 * byte leaves the machine.
 */

/** What a destination is judged against. Each entry is a URL whose origin counts; malformed ones count for nothing. */
export interface BearerPolicy {
  /** The configured API base (`api_url` / `XTALK_API_URL`). */
  apiUrl?: string | undefined;
  /** The issuer that issued the token. */
  issuer?: string | undefined;
  /** Origins the caller named explicitly: `createFetch({ baseUrl, allowedOrigins })`, `xtalk api --allow-origin`. */
  namedOrigins?: readonly string[];
  /** Plain `http:` origins on other hosts the user opted into, one by one. */
  insecureHttpOrigins?: readonly string[];
}

export type BearerRefusal =
  /** Not a URL at all. */
  | 'not-a-url'
  /** A scheme other than `https:` and `http:` (file:, ftp:, data: …). */
  | 'not-http'
  /** `user:password@` in the URL: a second credential the token would travel with. */
  | 'credentials-in-url'
  /** Neither the API's origin, nor the issuer's, nor one the caller named. */
  | 'origin-not-allowed'
  /** Plain `http:` to a host that is not loopback, without the opt-in for that origin. */
  | 'not-https';

export type BearerVerdict =
  | {
      ok: true;
      url: URL;
      origin: string /** True when the host never leaves the machine: no proxy may see the request. */;
      loopback: boolean;
    }
  | { ok: false; origin: string; reason: BearerRefusal };

/** A URL's origin (`https://host:port`, default ports left out), or undefined for anything that has none. */
export function originOf(value: string | URL): string | undefined {
  try {
    const url = value instanceof URL ? value : new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An origin as a user writes it in a list (`https://api.example`, `http://lab.example:8080`): the
 * normalised origin, or undefined when the value is not just an http(s) origin (a path, a query,
 * credentials or another scheme make it something else).
 */
export function parseOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') return undefined;
  return url.origin;
}

/** Judges whether `target` may carry the bearer token under `policy`. Pure: no network, no environment. */
export function judgeBearerDestination(target: string | URL, policy: BearerPolicy): BearerVerdict {
  let url: URL;
  try {
    url = target instanceof URL ? new URL(target.href) : new URL(target);
  } catch {
    return { ok: false, origin: '(not a URL)', reason: 'not-a-url' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, origin: `${url.protocol}//${url.host}`, reason: 'not-http' };
  const origin = url.origin;
  if (url.username || url.password) return { ok: false, origin, reason: 'credentials-in-url' };
  const allowed = [policy.apiUrl, policy.issuer, ...(policy.namedOrigins ?? [])].flatMap((v) => (v ? [originOf(v)] : []));
  if (!allowed.includes(origin)) return { ok: false, origin, reason: 'origin-not-allowed' };
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !loopback && !(policy.insecureHttpOrigins ?? []).some((o) => originOf(o) === origin)) {
    return { ok: false, origin, reason: 'not-https' };
  }
  return { ok: true, url, origin, loopback };
}
