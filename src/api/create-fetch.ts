import { getFreshToken } from '../auth/fresh-token.js';
import { isInvalidTokenChallenge } from '../net/bearer-challenge.js';
import { withSession } from './open-session.js';
import type { TokenRequest } from './options.js';
import { minTtlSeconds } from './session.js';

export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface CreateFetchOptions extends TokenRequest {
  /** The fetch that sends the requests; default the global `fetch`. */
  fetch?: FetchFunction;
}

/**
 * A `fetch` that sends the account's access token as `Authorization: Bearer …`. When the server
 * answers 401 with `error="invalid_token"` (the token was revoked or expired early), it refreshes
 * once (single flight, as `xtalk token`) and sends the request once more; the answer to that retry
 * is returned as it is, whatever it is. A request whose body is a one-shot stream, or a `Request`
 * with a body, is not sent twice: its 401 is returned. HTTP errors are Responses, as with `fetch`;
 * a session that cannot be refreshed rejects with {@link LoginRequiredError}.
 */
export function createFetch(opts: CreateFetchOptions = {}): FetchFunction {
  const send = opts.fetch ?? globalThis.fetch;
  const minTtl = minTtlSeconds(opts.minTtl);
  const token = (rejected?: string) =>
    withSession(opts, ({ deps, account }) => getFreshToken(deps, account, { minTtlSeconds: minTtl, rejected }));
  return async (input, init) => {
    const first = await token();
    const response = await send(input, withBearer(input, init, first.accessToken));
    if (!isInvalidTokenChallenge(response) || !canSendAgain(input, init)) return response;
    // Release the refused answer's connection before the retry.
    await response.body?.cancel().catch(() => {});
    const second = await token(first.accessToken);
    return send(input, withBearer(input, init, second.accessToken));
  };
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
