import * as oidc from 'openid-client';
import { retryAfterMs } from './error-text.js';
import { mapError, responseOf } from './map-error.js';

/**
 * RFC 7009 revocation; HTTP 200 counts as revoked, also for a token the provider no longer knows.
 * A 503 is retried once, after its `Retry-After` (at most 30 s). Failures are mapped, then passed
 * to `explain` (which adds what this client sent).
 */
export async function revokeToken(
  config: oidc.Configuration,
  token: string,
  hint: 'refresh_token' | 'access_token',
  opts: { now: () => number; sleep: (ms: number) => Promise<void>; explain: (e: unknown) => unknown },
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await oidc.tokenRevocation(config, token, { token_type_hint: hint });
      return;
    } catch (e) {
      const response = responseOf(e);
      if (response?.status === 503 && attempt === 0) {
        await opts.sleep(retryAfterMs(response.headers.get('retry-after'), opts.now()));
        continue;
      }
      throw opts.explain(mapError(e, 'the revocation request'));
    }
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
