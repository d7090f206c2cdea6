import { checkSameOrigin } from '../shared/endpoint-origin.js';
import { DEFAULT_SCOPE } from '../core/oauth-terms.js';
import { isSecureOrLoopback } from '../core/url-rules.js';
import { isXtalkError } from '../errors.js';
import { discoveryUrlFor, fetchDiscovery, type DiscoveredDocument } from '../oidc/discovery.js';
import { fail, ok, warn, type CheckResult } from './check.js';
import { checkLogout } from './logout-check.js';
import { anySignal } from '../shared/abort.js';

/** Warn from this much clock difference; fail from the next (ID-token checks allow only a little). */
export const SKEW_WARN_MS = 30_000;
export const SKEW_FAIL_MS = 300_000;

export interface ProviderProbe {
  issuer: string;
  /** A full discovery URL from the configuration, fetched verbatim as login does. */
  discoveryUrl?: string | undefined;
  /** The configured scope; undefined means the defaults, which depend on `scopes_supported`. */
  scope?: string | undefined;
  /** From the configuration, when set there; used like login does: only where discovery names none. */
  revocationEndpoint: string | undefined;
  /** Where that setting came from (`OAUTH2_REVOCATION_ENDPOINT in .env`, …). */
  revocationEndpointFrom?: string | undefined;
  fetch: typeof fetch;
  now: () => number;
  signal: AbortSignal;
  requestTimeoutMs: number;
}

const NETWORK_FIX =
  'Check the issuer URL and the network; behind a proxy set HTTPS_PROXY (and NO_PROXY), behind a TLS-inspecting proxy set NODE_EXTRA_CA_CERTS to its CA certificate.';
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

/** The checks that need the provider, when it cannot be asked. */
export function providerNotChecked(reason: string): CheckResult[] {
  return ['discovery', 'jwks', 'clock', 'revocation', 'logout'].map((name) => warn(name, `not checked: ${reason}`));
}

/**
 * Discovery exactly as login does it (the discovery URL given, or the issuer's well-known URL,
 * same-origin redirects, the exact issuer), then JWKS, clock skew against the provider's `Date`
 * header, and the revocation endpoint.
 */
export async function checkProvider(p: ProviderProbe): Promise<CheckResult[]> {
  let got: DiscoveredDocument;
  try {
    got = await fetchDiscovery({
      issuer: p.issuer,
      discoveryUrl: p.discoveryUrl,
      fetch: p.fetch,
      timeoutMs: p.requestTimeoutMs,
      signal: p.signal,
      now: p.now,
    });
  } catch (e) {
    const [error, fix] = isXtalkError(e)
      ? [e.message.replace(/\.$/, ''), e.hint ?? 'Check the issuer URL.']
      : [`cannot reach ${discoveryUrlFor(p.issuer, p.discoveryUrl)}: ${describeFetchError(e, p.requestTimeoutMs)}`, NETWORK_FIX];
    const [, jwks, clock, revocationUnknown, logout] = providerNotChecked('discovery failed');
    return [fail('discovery', error, fix), jwks!, clock!, p.revocationEndpoint ? revocation(p, undefined) : revocationUnknown!, logout!];
  }
  const doc = got.metadata;
  const url = got.url;
  const missing = ['authorization_endpoint', 'token_endpoint', 'jwks_uri'].filter((k) => typeof doc[k] !== 'string');
  let discovery: CheckResult;
  if (missing.length > 0) {
    discovery = fail('discovery', `${url} lacks ${missing.join(', ')}`, 'Check that the issuer URL points at an OpenID provider.');
  } else {
    const followed = got.redirects.map((r) => `; followed HTTP ${r.status} from ${r.from}`).join('');
    discovery = ok(
      'discovery',
      `${url} (HTTP ${got.status}, ${got.ms} ms${followed}); scopes: ${scopesToAsk(p.scope, doc.scopes_supported)}`,
    );
  }
  const jwks =
    typeof doc.jwks_uri === 'string' ? await checkJwks(p, doc.jwks_uri) : warn('jwks', 'not checked: discovery names no jwks_uri');
  const revocationResult = revocation(p, typeof doc.revocation_endpoint === 'string' ? doc.revocation_endpoint : undefined);
  return [
    discovery,
    jwks,
    checkClock(got.date, got.receivedAt),
    revocationResult,
    checkLogout(revocationResult, typeof doc.end_session_endpoint === 'string' ? doc.end_session_endpoint : undefined),
  ];
}

/** The scopes login will ask for, in words: the configured ones, the defaults narrowed, or the fallback. */
function scopesToAsk(configured: string | undefined, supported: unknown): string {
  if (configured) return `"${configured}" (configured)`;
  if (Array.isArray(supported))
    return `"${DEFAULT_SCOPE.split(' ')
      .filter((s) => s === 'openid' || supported.includes(s))
      .join(' ')}" (defaults the provider lists)`;
  return `"${DEFAULT_SCOPE}", fewer if the provider refuses one (it publishes no scopes_supported)`;
}

async function checkJwks(p: ProviderProbe, uri: string): Promise<CheckResult> {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return fail('jwks', `jwks_uri ${uri} is not a URL`, 'The provider publishes a broken discovery document; contact its administrator.');
  }
  if (!isSecureOrLoopback(parsed)) {
    return fail('jwks', `jwks_uri ${uri} is not https:`, 'The provider must publish its keys over https:; contact its administrator.');
  }
  const got = await getJson(p, uri);
  if ('error' in got) return fail('jwks', got.error, got.fix);
  const keys = (got.body as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    return fail('jwks', `${uri} holds no keys`, "ID tokens cannot be verified without the provider's keys; contact its administrator.");
  }
  const algs = [...new Set(keys.map((k: { alg?: unknown; kty?: unknown }) => String(k.alg ?? k.kty)))];
  return ok('jwks', `${keys.length} key${keys.length === 1 ? '' : 's'} (${algs.join(', ')}) at ${uri}`);
}

/** `date` is the provider's `Date` header, `receivedAt` this machine's clock when it arrived. */
export function checkClock(date: string | null, receivedAt: number): CheckResult {
  const providerMs = date ? Date.parse(date) : NaN;
  if (!Number.isFinite(providerMs)) {
    return warn(
      'clock',
      date ? `the provider's Date header is unreadable: ${date}` : 'the provider sent no Date header; clocks not compared',
    );
  }
  // The header drops the milliseconds: the provider's clock read somewhere in the next second.
  const skew = providerMs + 500 - receivedAt;
  if (Math.abs(skew) < 1500) return ok('clock', 'in step with the provider (within 1 s)');
  const text = `this machine's clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'behind' : 'ahead of'} the provider's`;
  const fix =
    'Synchronise the clock (e.g. `timedatectl set-ntp true`, or automatic time in the system settings); ID tokens are checked against it.';
  if (Math.abs(skew) > SKEW_FAIL_MS) return fail('clock', text, fix);
  if (Math.abs(skew) > SKEW_WARN_MS) return warn('clock', text, fix);
  return ok('clock', text);
}

function revocation(p: ProviderProbe, discovered: string | undefined): CheckResult {
  if (discovered) {
    const unused =
      p.revocationEndpoint && p.revocationEndpoint !== discovered
        ? `; ${p.revocationEndpoint} (from ${p.revocationEndpointFrom ?? 'the configuration'}) is not used`
        : '';
    return ok('revocation', `${discovered} (from discovery${unused})`);
  }
  if (p.revocationEndpoint) {
    try {
      checkSameOrigin(p.issuer, p.revocationEndpoint, 'revocation endpoint', p.revocationEndpointFrom);
    } catch (e) {
      if (!isXtalkError(e)) throw e;
      return fail('revocation', e.message, e.hint);
    }
    return ok('revocation', `${p.revocationEndpoint} (from ${p.revocationEndpointFrom ?? 'the configuration'})`);
  }
  return warn(
    'revocation',
    'the provider publishes no revocation endpoint, so `xtalk logout` cannot revoke tokens',
    'Set XTALK_REVOCATION_ENDPOINT (or OAUTH2_REVOCATION_ENDPOINT in .env) if the provider has one; otherwise `xtalk logout --force` deletes the tokens locally only.',
  );
}

type Got = { status: number; body: unknown; date: string | null; receivedAt: number; ms: number } | { error: string; fix: string };

async function getJson(p: ProviderProbe, url: string): Promise<Got> {
  const started = p.now();
  let res: Response;
  try {
    res = await p.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: anySignal([p.signal], p.requestTimeoutMs),
    });
  } catch (e) {
    return { error: `cannot reach ${url}: ${describeFetchError(e, p.requestTimeoutMs)}`, fix: NETWORK_FIX };
  }
  const receivedAt = p.now();
  if (res.status >= 300 && res.status < 400) {
    return {
      error: `${url} redirects (HTTP ${res.status}) to ${res.headers.get('location') ?? 'nowhere'}`,
      fix: 'xtalk does not follow redirects for the keys; the provider should publish their final URL (tell its administrator).',
    };
  }
  if (res.status !== 200) {
    return {
      error: `${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
      fix: "The provider publishes a URL that does not answer; a 5xx is the provider's problem, anything else its configuration (tell its administrator).",
    };
  }
  try {
    const body: unknown = await res.json();
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    return { status: res.status, body, date: res.headers.get('date'), receivedAt, ms: Math.round(receivedAt - started) };
  } catch {
    return {
      error: `${url} did not answer with a JSON object`,
      fix: 'Check that the issuer URL points at an OpenID provider, not a web page or a captive portal.',
    };
  }
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = err?.cause;
  if (cause?.code && TLS_CODES.test(cause.code))
    return `TLS certificate not trusted (${cause.code}); a TLS-inspecting proxy needs NODE_EXTRA_CA_CERTS`;
  return cause?.message ?? err?.message ?? String(e);
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}
