import type { AccountRecord } from '../core/session-records.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { parseOrigin, type BearerPolicy } from '../core/bearer-destination.js';
import { requireBearerDestination } from '../shared/bearer-guard.js';
import { anySignal } from '../shared/abort.js';
import { UsageError } from '../errors.js';
import { isInvalidTokenChallenge } from '../net/bearer-challenge.js';
import { joinBelow } from '../shared/url-rules.js';
import { programCall } from './hints.js';
import type { TokenRequest } from './options.js';
import { minTtlSeconds } from './session.js';
import { sessionToken } from './session-token.js';

/** The `fetch` signature: what createFetch returns and what its `fetch` option takes. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** `signal` here cancels every request's wait for a token; a request's own `init.signal` cancels that request (and its wait). */
export interface CreateFetchOptions extends TokenRequest {
  /** The fetch that sends the requests; default the global `fetch`. */
  fetch?: FetchFunction;
  /**
   * Where relative URLs point (`'devices'` is `<baseUrl>/devices`), default the configured
   * `api_url`; naming it also lets its origin receive the token.
   */
  baseUrl?: string | URL;
  /** Further origins that may receive the token, e.g. `['https://files.example']`. */
  allowedOrigins?: readonly string[];
  /**
   * Plain `http:` origins on other hosts that may receive the token in clear, e.g.
   * `['http://lab.example:8080']`: an explicit opt-in, added to `insecure_http_origins` of the
   * configuration. Not needed for `https:` or for `http:` to this machine.
   */
  insecureHttpOrigins?: readonly string[];
}

/**
 * A `fetch` that sends the account's access token as `Authorization: Bearer …`, only where the
 * token may go: the configured API's origin, the issuer's, the
 * origin of `baseUrl` or one in `allowedOrigins`; over `https:`, `http:` to this machine, or plain
 * `http:` to an origin in `insecureHttpOrigins`. Any other URL rejects with an XtalkError of code
 * BEARER_DESTINATION_REFUSED before anything is sent.
 *
 * When the server answers 401 with `error="invalid_token"` (the token was revoked or expired
 * early), it refreshes once (single flight, as `xtalk token`) and sends the request once more; the
 * answer to that retry is returned as it is, whatever it is. A request whose body is a one-shot
 * stream, or a `Request` with a body, is not sent twice: its 401 is returned. HTTP errors are
 * Responses, as with `fetch`; a session that cannot be refreshed rejects with {@link LoginRequiredError}.
 */
export function createFetch(opts: CreateFetchOptions = {}): FetchFunction {
  return programCall(() => buildFetch(opts));
}

function buildFetch(opts: CreateFetchOptions): FetchFunction {
  const send = opts.fetch ?? globalThis.fetch;
  const minTtl = minTtlSeconds(opts.minTtl);
  const baseUrl = opts.baseUrl === undefined ? undefined : checkBaseUrl(opts.baseUrl);
  const named = [...(baseUrl ? [baseUrl.origin] : []), ...(opts.allowedOrigins ?? []).map((o) => checkOrigin(o, 'allowedOrigins'))];
  const insecure = (opts.insecureHttpOrigins ?? []).map((o) => checkOrigin(o, 'insecureHttpOrigins'));
  const policyFor = (config: ResolvedConfig, account: AccountRecord): BearerPolicy => ({
    apiUrl: config.apiUrl,
    issuer: account.issuer,
    namedOrigins: named,
    insecureHttpOrigins: [...config.insecureHttpOrigins, ...insecure],
  });
  /** Judges the destination (before the session is refreshed or anything is sent), then gets a token. */
  const prepare = async (input: string | URL | Request, signal: AbortSignal | undefined, rejected?: string) => {
    let target: URL | undefined;
    const { token } = await sessionToken(
      { ...opts, signal },
      {
        minTtlSeconds: minTtl,
        rejected,
        // On every request, also when the token comes from memory.
        check: (config, account) => {
          target = targetOf(input, baseUrl ?? config.apiUrl);
          requireBearerDestination(target, policyFor(config, account));
        },
      },
    );
    return { target: target!, accessToken: token.accessToken };
  };
  return async (input, init) => {
    // The token wait ends with the call's own signal or the request's, whichever aborts first.
    const requestSignal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const signal = requestSignal && opts.signal ? anySignal([requestSignal, opts.signal]) : (requestSignal ?? opts.signal);
    const first = await prepare(input, signal);
    // A relative URL is sent as the absolute one that was judged.
    const request = typeof input === 'string' ? first.target.href : input;
    const response = await send(request, withBearer(input, init, first.accessToken));
    if (!isInvalidTokenChallenge(response) || !canSendAgain(input, init)) return response;
    // Release the refused answer's connection before the retry.
    await response.body?.cancel().catch(() => {});
    const second = await prepare(input, signal, first.accessToken);
    return send(request, withBearer(input, init, second.accessToken));
  };
}

/** The absolute URL a request goes to: a Request's or URL's own, a string as given, or a relative one below `base`. */
function targetOf(input: string | URL | Request, base: string | URL | undefined): URL {
  if (input instanceof Request) return new URL(input.url);
  if (input instanceof URL) return new URL(input.href);
  const text = String(input);
  if (/^[a-z][a-z\d+.-]*:/i.test(text)) {
    try {
      return new URL(text);
    } catch {
      throw new UsageError('USAGE', `"${text}" is not a URL.`);
    }
  }
  if (!base)
    throw new UsageError('USAGE', `"${text}" is a relative URL, but there is no baseUrl and no api_url configured.`, {
      facts: { reason: 'relative_url_without_base' },
    });
  return joinBelow(base, text);
}

function checkBaseUrl(value: string | URL): URL {
  let url: URL | undefined;
  try {
    url = new URL(String(value));
  } catch {
    // Said below.
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw new UsageError('USAGE', `createFetch: baseUrl must be an http(s) URL without credentials, got ${JSON.stringify(String(value))}.`);
  }
  return url;
}

function checkOrigin(value: string, option: string): string {
  const origin = typeof value === 'string' ? parseOrigin(value) : undefined;
  if (!origin)
    throw new UsageError('USAGE', `createFetch: ${option} takes origins like "https://api.example", got ${JSON.stringify(value)}.`);
  return origin;
}

function withBearer(input: string | URL | Request, init: RequestInit | undefined, accessToken: string): RequestInit {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  headers.set('authorization', `Bearer ${accessToken}`);
  return { ...init, headers };
}

/** False when the body was a stream read by the first attempt (sending it again would send nothing). */
function canSendAgain(input: string | URL | Request, init: RequestInit | undefined): boolean {
  const body: unknown = init?.body;
  if (body === undefined || body === null) return !(input instanceof Request && input.body !== null);
  if (typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (body instanceof Blob || body instanceof URLSearchParams || body instanceof FormData) return true;
  return !(typeof (body as { getReader?: unknown }).getReader === 'function' || Symbol.asyncIterator in (body as object));
}
