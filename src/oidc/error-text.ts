/**
 * The messages of xtalk's provider errors: which check failed, with what was expected and what
 * arrived. No openid-client here (src/oidc/map-error.ts maps its errors), and no hints: those are
 * in src/hints.ts, chosen by the error's code.
 */

/** Claims, parameters and attributes whose expected and received values are safe and useful to show. */
const SHOWN_VALUES = new Set(['iss', 'aud', 'azp', 'sub', 'issuer']);

interface CheckFacts {
  expected?: unknown;
  claim?: string;
  claims?: Record<string, unknown>;
  attribute?: string;
  body?: Record<string, unknown>;
  parameters?: unknown;
  header?: Record<string, unknown>;
  alg?: unknown;
  now?: number;
}

/**
 * The check that failed, with what was expected and what arrived. openid-client's own message is
 * generic ("invalid response encountered"); the specific one, naming the claim or parameter, is on
 * the oauth4webapi error in `cause`, and the values are on that error's `cause`.
 */
export function validationReason(err: Error): string {
  const inner = err.cause instanceof Error ? err.cause : err;
  const facts = (typeof inner.cause === 'object' && inner.cause !== null ? inner.cause : {}) as CheckFacts;
  const params = facts.parameters instanceof URLSearchParams ? facts.parameters : undefined;
  const name = facts.claim ?? facts.attribute ?? (params && /"iss"/.test(inner.message) ? 'iss' : undefined);
  const got = facts.claim ? facts.claims?.[facts.claim] : facts.attribute ? facts.body?.[facts.attribute] : params?.get('iss');
  const details: string[] = [];
  if (/response parameter/.test(inner.message)) details.push('in the redirect back from the provider');
  if (name && SHOWN_VALUES.has(name) && facts.expected !== undefined) details.push(`expected ${quote(facts.expected)}, got ${quote(got)}`);
  const exp = facts.claims?.exp;
  if (facts.claim === 'exp' && typeof exp === 'number' && typeof facts.now === 'number')
    details.push(`expired ${Math.round(facts.now - exp)} s ago`);
  const alg = facts.header?.alg ?? facts.alg;
  if (alg !== undefined) {
    let detail = `alg ${quote(alg)}`;
    if (facts.header?.kid !== undefined) detail += `, kid ${quote(facts.header.kid)}`;
    if (typeof facts.expected === 'string' || Array.isArray(facts.expected)) detail += `, expected ${[facts.expected].flat().join(' or ')}`;
    if (alg === 'none' || (typeof alg === 'string' && alg.startsWith('HS')))
      detail += '; ID tokens must be signed with a key the provider publishes';
    details.push(detail);
  }
  return details.length ? `${inner.message} (${details.join('; ')})` : inner.message;
}

/** The `alg` of a JWT that failed the algorithm check, when the error says. */
export function rejectedAlg(err: unknown): string | undefined {
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    const facts = e.cause as CheckFacts | undefined;
    const alg = facts && typeof facts === 'object' ? (facts.header?.alg ?? facts.alg) : undefined;
    if (typeof alg === 'string') return alg;
  }
  return undefined;
}

/** A provider-supplied value for a one-line message: JSON-quoted, no terminal control characters, short. */
export function quote(value: unknown): string {
  const text = (JSON.stringify(value) ?? String(value)).replace(
    /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

// openid-client's codes for an endpoint URL it will not send a request to (or build a URL on).
const REFUSED_URL_CODES = new Set(['OAUTH_REQUEST_PROTOCOL_FORBIDDEN', 'OAUTH_HTTP_REQUEST_FORBIDDEN']);

/** True for openid-client's refusal of an endpoint URL: a scheme other than https: (or loopback http:). */
export function isRefusedEndpointUrl(err: unknown): boolean {
  return REFUSED_URL_CODES.has((err as { code?: unknown } | null)?.code as string);
}

/**
 * A provider endpoint xtalk refuses (`javascript:`, `file:`, `ms-msdt:` …): such a URL handed to a
 * browser or the OS opener can run programs or read files, so it is a provider problem, not a bug.
 */
export function refusedEndpointMessage(endpoint: string, url: unknown): string {
  let scheme: string | undefined;
  try {
    scheme = new URL(String(url)).protocol;
  } catch {
    scheme = undefined;
  }
  const shown = url === undefined ? '' : ` ${quote(url)}${scheme ? ` (scheme ${quote(scheme)})` : ''}`;
  return `The provider's discovery document names an ${endpoint}${shown} that xtalk refuses to use: only https: URLs (and http: on this machine) are allowed.`;
}

const MAX_RETRY_AFTER_MS = 30_000;

/** `Retry-After` as seconds or an HTTP date; 1 s when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number {
  if (!header) return 1000;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - now;
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_MS) : 1000;
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
