import { Readable } from 'node:stream';
import { CancelledError, NetworkError } from '../errors.js';
import type { BearerPolicy } from '../core/bearer-destination.js';
import { requireBearerDestination } from '../shared/bearer-guard.js';
import { isInvalidTokenChallenge } from './bearer-challenge.js';

/** A request body: none, bytes that can be sent again, or a stream (stdin) that can be sent once. */
export type ApiBody = { kind: 'none' } | { kind: 'bytes'; data: Buffer } | { kind: 'stream'; stream: Readable };

export interface ApiHttpRequest {
  url: URL;
  method: string;
  /** Headers the user gave; `Authorization` is added per attempt and never logged. */
  headers: Array<[string, string]>;
  body: ApiBody;
  /** Where the token may go (src/core/bearer-destination.ts): checked before every attempt. */
  policy: BearerPolicy;
}

export interface ApiHttpDeps {
  fetch: typeof fetch;
  signal: AbortSignal;
  /** Told why a redirect was not followed. */
  warn(line: string): void;
  debug(line: string): void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * Sends one authenticated request. Redirects are followed by hand (at most 5) and only within the
 * request's origin: the token never travels to another host, scheme or port. A redirect elsewhere,
 * or a 307/308 that would need a consumed stream body again, is returned as it is, with a warning.
 */
export async function sendApiRequest(deps: ApiHttpDeps, req: ApiHttpRequest, token: string): Promise<Response> {
  requireBearerDestination(req.url, req.policy);
  let url = req.url;
  let method = req.method;
  let body = req.body;
  for (let hop = 0; ; hop++) {
    const headers = new Headers(req.headers);
    if (body.kind === 'none') headers.delete('content-type');
    // Set last: a user header never replaces the bearer token.
    headers.set('authorization', `Bearer ${token}`);
    deps.debug(`api: ${method} ${url.href}`);
    const res = await send(deps, url, { method, headers, body });
    deps.debug(`api: HTTP ${res.status}`);
    const location = res.headers.get('location');
    if (!REDIRECTS.has(res.status) || !location) return res;
    const next = new URL(location, url);
    // Same origin only: the destination judged above stays the one the token goes to.
    if (next.origin !== req.url.origin) {
      deps.warn(`Not following the redirect to ${next.origin}: xtalk sends the token only to ${req.url.origin}.`);
      return res;
    }
    if (hop >= MAX_REDIRECTS) {
      deps.warn(`Stopped after ${MAX_REDIRECTS} redirects.`);
      return res;
    }
    const keepsBody = res.status === 307 || res.status === 308;
    if (keepsBody && body.kind === 'stream') {
      deps.warn(`Not following the ${res.status} redirect: the request body from stdin cannot be sent twice.`);
      return res;
    }
    if (!keepsBody && (res.status === 303 || method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = { kind: 'none' };
    }
    await res.body?.cancel().catch(() => {});
    url = next;
  }
}

async function send(deps: ApiHttpDeps, url: URL, init: { method: string; headers: Headers; body: ApiBody }): Promise<Response> {
  const { body } = init;
  const payload =
    body.kind === 'bytes'
      ? body.data
      : body.kind === 'stream'
        ? (Readable.toWeb(body.stream) as unknown as ReadableStream<Uint8Array>)
        : undefined;
  try {
    return await deps.fetch(url.href, {
      method: init.method,
      headers: init.headers,
      body: payload,
      redirect: 'manual',
      signal: deps.signal,
      ...(body.kind === 'stream' ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (e) {
    if (deps.signal.aborted) throw new CancelledError('CANCELLED', 'Cancelled.');
    const cause = (e as Error & { cause?: Error }).cause;
    throw new NetworkError('NETWORK_ERROR', `Cannot reach ${url.origin}: ${cause?.message ?? (e as Error).message}`, {
      facts: { reason: 'api_unreachable' },
      cause: e,
    });
  }
}

/** RFC 6750 3.1: `WWW-Authenticate: Bearer error="invalid_token"`, or the same error in a JSON body. */
export async function isInvalidToken(res: Response): Promise<boolean> {
  if (res.status !== 401) return false;
  if (isInvalidTokenChallenge(res)) return true;
  if (!/json/i.test(res.headers.get('content-type') ?? '')) return false;
  try {
    const parsed = (await res.clone().json()) as { error?: unknown } | null;
    return parsed?.error === 'invalid_token';
  } catch {
    return false;
  }
}
