import { ConfigError } from '../errors.js';
import { TOKEN_AUTH_METHODS, type CredentialStoreMode, type TokenAuthMethod } from '../core/oauth-terms.js';
import { parseOrigin } from '../core/bearer-destination.js';
import { isSecureOrLoopback } from '../core/url-rules.js';
import { DISCOVERY_SUFFIX } from '../shared/url-rules.js';

/** The value parsers: one raw string in, a checked value out, or a ConfigError saying what to write. */

/** When `xtalk logout` ends the provider's browser session without being asked (`logout_browser`). */
export type LogoutBrowser = 'always' | 'never';

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_HTTP_TIMEOUT_SECONDS = 30;
/** How long `xtalk token` may reuse a keychain key from the kernel key cache (gpg-agent's default). */
export const DEFAULT_KEY_CACHE_SECONDS = 600;
/** The longest the key cache may keep a key: a day. */
export const MAX_KEY_CACHE_SECONDS = 86_400;

/**
 * The issuer exactly as given (a trailing slash is part of it: issuers compare byte for byte), or,
 * for a full discovery URL (with or without a trailing slash), the URL before the well-known path
 * plus that URL itself, fetched verbatim.
 */
export function parseIssuer(raw: string): { issuer: string; discoveryUrl: string | undefined } {
  const given = checkEndpointUrl(raw, 'issuer');
  const at = given.endsWith(`${DISCOVERY_SUFFIX}/`)
    ? given.length - DISCOVERY_SUFFIX.length - 1
    : given.endsWith(DISCOVERY_SUFFIX)
      ? given.length - DISCOVERY_SUFFIX.length
      : -1;
  if (at < 0) return { issuer: given, discoveryUrl: undefined };
  return { issuer: checkEndpointUrl(given.slice(0, at), 'issuer'), discoveryUrl: given };
}

export function parseSigningAlg(raw: string): string {
  const v = raw.trim();
  // JWS algorithm names (RFC 7518): letters and digits; "none" is never acceptable for an ID token.
  if (/^[A-Za-z][A-Za-z0-9]{2,15}$/.test(v) && v.toLowerCase() !== 'none') return v;
  throw new ConfigError('CONFIG_INVALID', `Unknown ID-token signing algorithm "${raw}".`, { facts: { reason: 'signing_alg' } });
}

export function parseTokenAuthMethod(raw: string): TokenAuthMethod {
  const v = raw.trim() as TokenAuthMethod;
  if (TOKEN_AUTH_METHODS.includes(v)) return v;
  throw new ConfigError('CONFIG_INVALID', `Unknown token endpoint auth method "${raw}".`, {
    facts: { reason: 'token_auth_method', choices: TOKEN_AUTH_METHODS.join(', ') },
  });
}

export function checkEndpointUrl(raw: string, what: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError('CONFIG_INVALID', `The ${what} "${raw}" is not a URL.`, { facts: { reason: 'not_a_url' } });
  }
  if (isSecureOrLoopback(url)) return raw.trim();
  throw new ConfigError(
    'CONFIG_INVALID',
    `The ${what} must use https: (plain http: is allowed only on 127.0.0.1, ::1 or localhost), got ${url.protocol}//${url.host}.`,
    { facts: { reason: 'not_https' } },
  );
}

/**
 * `insecure_http_origins`: plain `http:` origins on other hosts that may get the bearer token in
 * clear, separated by commas or spaces (a JSON array in config.json works too). Only origins:
 * `http://lab.example:8080`, no path, no https: (that needs no opt-in).
 */
export function parseInsecureHttpOrigins(raw: string): string[] {
  const origins: string[] = [];
  for (const entry of raw.split(/[\s,]+/).filter(Boolean)) {
    const origin = parseOrigin(entry);
    if (!origin || !origin.startsWith('http:')) {
      throw new ConfigError('CONFIG_INVALID', `"${entry}" in the insecure http origins is not an http: origin.`, {
        facts: { setting: 'insecure_http_origins' },
      });
    }
    if (!origins.includes(origin)) origins.push(origin);
  }
  return origins;
}

/**
 * The API base URL: https:, http: on a loopback host, or plain http: to an origin the user opted
 * into (`insecure_http_origins`).
 */
export function parseApiUrl(raw: string, insecureHttpOrigins: readonly string[] = []): string {
  const v = raw.trim();
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    // checkEndpointUrl says what is wrong.
  }
  if (url?.protocol === 'http:' && !url.username && !url.password && insecureHttpOrigins.includes(url.origin)) return v;
  return checkEndpointUrl(raw, 'API URL');
}

export function parsePort(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > 65535) {
    throw new ConfigError('CONFIG_INVALID', `Invalid port "${raw}".`, { facts: { reason: 'port' } });
  }
  return n;
}

export function parseTimeout(raw: string): number {
  return positiveSeconds(raw, `Invalid timeout "${raw}".`, 'timeout');
}

export function parseHttpTimeout(raw: string): number {
  return positiveSeconds(raw, `Invalid HTTP timeout "${raw}".`, 'http_timeout');
}

/** A positive number of seconds, an `s` suffix allowed. */
function positiveSeconds(raw: string, message: string, setting: 'timeout' | 'http_timeout'): number {
  const n = Number(raw.trim().replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError('CONFIG_INVALID', message, { facts: { setting } });
  return n;
}

/** Whole seconds from 0 (no key cache) to a day, an `s` suffix allowed. */
export function parseKeyCacheSeconds(raw: string): number {
  const n = Number(raw.trim().replace(/s$/, ''));
  if (!/^\s*\d+s?\s*$/.test(raw) || n > MAX_KEY_CACHE_SECONDS) {
    throw new ConfigError('CONFIG_INVALID', `Invalid key cache time "${raw}".`, { facts: { setting: 'key_cache_seconds' } });
  }
  return n;
}

export function parseCredentialStore(raw: string): CredentialStoreMode {
  const v = raw.trim().toLowerCase();
  if (v === 'keychain' || v === 'file' || v === 'auto') return v;
  throw new ConfigError('CONFIG_INVALID', `Unknown credential store "${raw}".`, { facts: { reason: 'credential_store' } });
}

export function parseLogoutBrowser(raw: string): LogoutBrowser {
  const v = raw.trim().toLowerCase();
  if (v === 'always' || v === 'never') return v;
  throw new ConfigError('CONFIG_INVALID', `Unknown logout_browser value "${raw}".`, { facts: { setting: 'logout_browser' } });
}
