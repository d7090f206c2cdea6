import type { SecretAuthMethod } from '../core/oauth-terms.js';
import type { AuthMethodMemory } from '../core/provider-records.js';
import { basicAuthorization } from './client-auth.js';

/** Error answers are a few hundred bytes; a larger one is passed on unread (and not retried). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * How a client with a secret presents it when no method is configured (golang.org/x/oauth2's
 * AuthStyleAutoDetect): HTTP Basic first, as RFC 6749 §2.3.1 prefers; a provider that refuses it
 * with invalid_client (or a 401) gets the same request, to the same URL, once more with the
 * credentials in the body, since some providers do not form-decode Basic credentials. What worked
 * is remembered per issuer and client ({@link AuthMethodMemory}) and used directly from then on.
 */
export interface AuthDetection {
  /** The method the next request uses. */
  method: SecretAuthMethod;
  /** Basic may still be retried in the body (nothing remembered, nothing configured, discovery allows both). */
  detecting: boolean;
  /** Every method the last refused request tried, in order (for the invalid_client message). */
  tried: SecretAuthMethod[];
}

/**
 * Whether discovery lets the client choose between Basic and the body. Without
 * `token_endpoint_auth_methods_supported` RFC 8414 means Basic only, but the providers that omit
 * the list are the ones that bend the RFCs; trying Basic first keeps a conforming provider's view
 * unchanged, and the retry sends the same secret to the same URL, so nothing new is exposed.
 */
export function allowsBothSecretMethods(supported: unknown): boolean {
  if (!Array.isArray(supported)) return true;
  return supported.includes('client_secret_basic') && supported.includes('client_secret_post');
}

/** Where a client with a secret and no configured method starts: what was remembered, else Basic (detecting). */
export function startDetection(memory: AuthMethodMemory | undefined, allowsBoth: boolean): AuthDetection {
  const learned = allowsBoth ? memory?.learned() : undefined;
  if (learned) return { method: learned, detecting: false, tried: [] };
  return { method: 'client_secret_basic', detecting: allowsBoth, tried: [] };
}

/**
 * Wraps the provider's innermost fetch: a request carrying this client's Basic credentials that is
 * refused as a client-authentication failure is sent again, once, to the same URL with the
 * credentials in the form body instead; when that one is not refused so, the body method is
 * adopted for this client and `memory.remember` is told. Any other request passes untouched.
 */
export function detectingFetch(
  inner: typeof fetch,
  state: AuthDetection,
  client: { clientId: string; secret: string },
  memory: AuthMethodMemory | undefined,
): typeof fetch {
  const basic = basicAuthorization(client.clientId, client.secret);
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    const form = formOf(init?.body);
    if (form) state.tried = [];
    if (!state.detecting || input instanceof Request || headers.get('authorization') !== basic || !form) return inner(input, init);
    state.tried = ['client_secret_basic'];
    const first = await inner(input, init);
    const refused = await clientRefused(first);
    if (!refused.yes) return refused.res;
    headers.delete('authorization');
    form.set('client_id', client.clientId);
    form.set('client_secret', client.secret);
    state.tried = ['client_secret_basic', 'client_secret_post'];
    const second = await inner(input, { ...init, headers, body: form });
    const again = await clientRefused(second);
    if (!again.yes) {
      state.method = 'client_secret_post';
      state.detecting = false;
      try {
        memory?.remember('client_secret_post');
      } catch {
        // Not remembered (a full disk …): detected again next time. The answer matters more, it may hold a rotated refresh token.
      }
    }
    return again.res;
  }) as typeof fetch;
}

/** A copy of a form body (openid-client sends URLSearchParams), or undefined for anything else. */
function formOf(body: RequestInit['body']): URLSearchParams | undefined {
  if (body instanceof URLSearchParams) return new URLSearchParams(body);
  if (typeof body === 'string') return new URLSearchParams(body);
  return undefined;
}

/**
 * Whether an answer says the client did not authenticate: a 401 (with or without a challenge), or
 * a 400 whose error is invalid_client. Returns the response to pass on, rebuilt when its body was read.
 */
async function clientRefused(res: Response): Promise<{ yes: boolean; res: Response }> {
  if (res.status !== 400 && res.status !== 401) return { yes: false, res };
  if (!res.body || Number(res.headers.get('content-length')) > MAX_ERROR_BODY_BYTES) return { yes: res.status === 401, res };
  const body = await readAtMost(res.body, MAX_ERROR_BODY_BYTES);
  const copy = new Response(new Uint8Array(body), {
    status: res.status,
    statusText: res.statusText,
    headers: new Headers([...res.headers]),
  });
  let error: unknown;
  try {
    error = (JSON.parse(body.toString('utf8')) as { error?: unknown }).error;
  } catch {
    error = undefined;
  }
  return { yes: res.status === 401 || error === 'invalid_client', res: copy };
}

/** The body, cut at `limit` bytes (an error answer that long is not one to read). */
async function readAtMost(stream: ReadableStream<Uint8Array>, limit: number): Promise<Buffer> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return Buffer.concat(chunks);
}
