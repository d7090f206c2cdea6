import { ProviderError } from '../errors.js';
import { DISCOVERY_SUFFIX } from './url-rules.js';
import { anySignal } from './abort.js';

/** Provider answers are JSON documents of a few KB; a discovery document or JWKS of 1 MB is not real. */
export const MAX_PROVIDER_RESPONSE_BYTES = 1024 * 1024;

// The Response constructor refuses a body for these.
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * Wraps the fetch used for provider calls: reads each body within the request's own timeout and
 * stops at `limit` bytes, so a huge or endless answer fails fast instead of filling memory; a
 * discovery document that is not JSON is named as such (openid-client only says "HTTP 200").
 */
export function boundedFetch(inner: typeof fetch, limit = MAX_PROVIDER_RESPONSE_BYTES): typeof fetch {
  const bounded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await inner(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (!res.body) return res;
    const declared = Number(res.headers.get('content-length'));
    if (declared > limit) {
      await res.body.cancel().catch(() => {});
      throw tooLarge(url, limit);
    }
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(url, limit);
      }
      chunks.push(value);
    }
    const body = Buffer.concat(chunks);
    if (res.ok && new URL(url).pathname.endsWith(DISCOVERY_SUFFIX)) checkDiscoveryJson(url, res.headers.get('content-type'), body);
    // Copied header by header: the response may come from another fetch implementation (undici).
    const headers = new Headers([...res.headers]);
    const response = new Response(NULL_BODY_STATUS.has(res.status) ? null : body, {
      status: res.status,
      statusText: res.statusText,
      headers,
    });
    bodies.set(response, body);
    return response;
  };
  return bounded as typeof fetch;
}

const bodies = new WeakMap<Response, Buffer>();

/** The body of a response {@link boundedFetch} returned, read already (no stream to go through). */
export function bodyOf(res: Response): Buffer | undefined {
  return bodies.get(res);
}

/**
 * Makes every request through `inner` also end when `deadline` fires: a limit on a whole sequence
 * of calls (the refresh under the store's write lock), on top of each request's own timeout.
 */
export function withDeadline(inner: typeof fetch, deadline: AbortSignal): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) =>
    inner(input, { ...init, signal: anySignal([init?.signal ?? undefined, deadline]) })) as typeof fetch;
}

function tooLarge(url: string, limit: number): ProviderError {
  return new ProviderError(
    'RESPONSE_TOO_LARGE',
    `The provider's answer from ${url} is larger than ${limit / 1024 / 1024} MB; xtalk stopped reading it.`,
  );
}

function checkDiscoveryJson(url: string, contentType: string | null, body: Buffer): void {
  const facts = { reason: 'not_json' as const, url: url.slice(0, url.lastIndexOf(DISCOVERY_SUFFIX) + DISCOVERY_SUFFIX.length) };
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(contentType ?? '')) {
    throw new ProviderError('DISCOVERY_FAILED', `The discovery document at ${url} is not JSON (content-type ${contentType ?? 'none'}).`, {
      facts,
    });
  }
  try {
    JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProviderError('DISCOVERY_FAILED', `The discovery document at ${url} is not valid JSON.`, { facts });
  }
}
