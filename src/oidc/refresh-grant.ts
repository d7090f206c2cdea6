import { NetworkError, ProviderError, type XtalkError } from '../errors.js';
import { bodyOf, boundedFetch } from '../shared/bounded-fetch.js';
import type { TokenGrant } from '../core/oauth-terms.js';

/**
 * Once the refresh grant is on its way, its answer is awaited this long, whatever deadline the
 * caller had: a rotating provider has spent the old refresh token by the time it answers, so an
 * answer given up on is a session lost.
 */
export const GRANT_ANSWER_SECONDS = 60;

/** A `Retry-After` longer than this (or than what is left of the answer's bound) is not waited for. */
const MAX_RETRY_AFTER_SECONDS = 30;

/** The token endpoint's answer to the refresh grant, as it arrived (before openid-client read it). */
export interface GrantAnswer {
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  body: Buffer;
}

/** What the grant's fetch saw: the request left, the answer, whether the provider's keys failed. */
export interface GrantTap {
  sent: boolean;
  answer: GrantAnswer | undefined;
  keysFailed: boolean;
}

/**
 * The fetch of the refresh grant: the request to `tokenEndpoint` ends only after `answerMs` (not
 * at the caller's deadline, not at the per-request timeout; see {@link answerLimit}) and its answer
 * is kept in `tap`, so an answer that openid-client then rejects (an ID-token check, the keys
 * endpoint down) can still be stored; a failure of the keys endpoint (`jwksUri`) is noted. `inner`
 * is the provider's own fetch, each answer read through boundedFetch.
 */
export function grantFetch(
  inner: typeof fetch,
  tokenEndpoint: string,
  jwksUri: string | undefined,
  answerMs: number,
  tap: GrantTap,
  onAnswer?: (answer: GrantAnswer) => void,
): typeof fetch {
  const bounded = boundedFetch(inner);
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === tokenEndpoint) {
      tap.sent = true;
      let progress = 0;
      const watched = (async (i: string | URL | Request, o?: RequestInit) => {
        const res = await inner(i, o);
        progress = 1;
        return res;
      }) as typeof fetch;
      const limit = answerLimit(answerMs, () => progress);
      let res: Response;
      try {
        res = await boundedFetch(watched)(input, { ...init, signal: limit.signal });
      } finally {
        limit.clear();
      }
      const body = bodyOf(res) ?? Buffer.from(await res.clone().arrayBuffer());
      // Before anything else (even reading headers): the moment between the provider's rotation and the commit.
      if (res.status === 200) onAnswer?.({ status: res.status, contentType: null, retryAfter: null, body });
      tap.answer = { status: res.status, contentType: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body };
      return res;
    }
    try {
      const res = await bounded(input, init);
      if (url === jwksUri && !res.ok) tap.keysFailed = true;
      return res;
    } catch (e) {
      if (url === jwksUri) tap.keysFailed = true;
      throw e;
    }
  }) as typeof fetch;
}

/**
 * A time limit a stopped or starved process does not misread: when it fires, the I/O that waited
 * meanwhile is let in first (one turn of the event loop; a process resumed after SIGSTOP runs its
 * timers before reading its sockets), and the request is aborted only if no progress was made since
 * the last look (`progress()` grows as the answer's headers arrive); otherwise it looks again later.
 */
function answerLimit(ms: number, progress: () => number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  let seen = progress();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      setImmediate(() => {
        if (timer === undefined) return;
        const now = progress();
        if (now > seen) {
          seen = now;
          arm();
        } else {
          controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
        }
      });
    }, ms);
    timer.unref?.();
  };
  arm();
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * The tokens of a 200 answer read without openid-client's checks: what is stored when a check after
 * the answer failed, so a rotated refresh token is never dropped. Undefined when the answer holds no
 * token at all (not an OAuth answer). `accessToken` is '' when the answer had none; without `scope`
 * the answer grants `requestedScope` (RFC 6749 §5.1).
 */
export function salvageGrant(
  answer: GrantAnswer,
  receivedAt: number,
  unknownLifetimeSeconds: number,
  requestedScope: string | null,
): TokenGrant | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const field = (name: string) => {
    const v = (doc as Record<string, unknown>)[name];
    return typeof v === 'string' && v !== '' ? v : null;
  };
  const refreshToken = field('refresh_token');
  const accessToken = field('access_token');
  if (!refreshToken && !accessToken) return undefined;
  const expiresIn = (doc as Record<string, unknown>).expires_in;
  const seconds = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn >= 0 ? expiresIn : unknownLifetimeSeconds;
  const tokenType = field('token_type') ?? 'Bearer';
  return {
    accessToken: accessToken ?? '',
    tokenType: tokenType.toLowerCase() === 'bearer' ? 'Bearer' : tokenType,
    scope: field('scope') ?? requestedScope,
    expiresAt: receivedAt + Math.round(seconds * 1000),
    refreshToken,
    // An ID token that failed its checks (or could not be checked) is not kept.
    idToken: null,
  };
}

/** A 200 answer that is no token response (an HTML login page, a proxy's error page …). */
export function notAnOAuthAnswer(answer: GrantAnswer): ProviderError {
  const type = answer.contentType?.split(';')[0]?.trim() || 'no content-type';
  return new ProviderError(
    'NOT_OAUTH_ANSWER',
    `The provider's answer to the token refresh is not an OAuth answer (HTTP ${answer.status}, ${type}).`,
    {
      facts: { grantSent: true },
    },
  );
}

/**
 * How long to wait before the one retry a 429 or 503 with `Retry-After` allows (seconds or an
 * HTTP date, RFC 9110 §10.2.3), or undefined when the answer does not ask for one or asks for
 * longer than `budgetMs`. An error answer means the refresh token was not spent.
 */
export function retryDelayMs(answer: GrantAnswer | undefined, now: number, budgetMs: number): number | undefined {
  if (!answer || (answer.status !== 429 && answer.status !== 503) || !answer.retryAfter) return undefined;
  const value = answer.retryAfter.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  const wait = Math.max(0, ms);
  return wait <= Math.min(budgetMs, MAX_RETRY_AFTER_SECONDS * 1000) ? wait : undefined;
}

/** A failure of a grant whose request left: say that a rotating provider may have ended the session. */
export function afterSending(e: XtalkError, tap: GrantTap): XtalkError {
  if (!tap.sent || tap.answer || !(e instanceof NetworkError)) return e;
  const code = (e.cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  // Refused before anything was read by the provider: nothing was spent.
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return e;
  return new NetworkError('NETWORK_ERROR', e.message, { facts: { ...e.facts, grantSent: true }, cause: e.cause });
}
