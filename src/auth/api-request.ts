import { requireBearerDestination } from '../shared/bearer-guard.js';
import { SessionExpiredError } from '../errors.js';
import { isInvalidToken, sendApiRequest, type ApiHttpRequest } from '../net/api-http.js';
import type { Ui } from '../output/ui.js';
import { getFreshToken, type FreshTokenDeps } from './refresh/fresh-token.js';
import type { AccountRecord } from '../core/session-records.js';

/** A refresh's part of the run, with `warn` for redirects not followed. */
export type ApiRequestDeps = Omit<FreshTokenDeps, 'ui'> & { ui: Pick<Ui, 'debug' | 'warn'> };

export interface ApiRequestInput {
  account: AccountRecord;
  request: ApiHttpRequest;
  /** How the request goes out (the proxy-aware fetch of src/net/proxy-fetch.ts), and what cancels it. */
  fetch: typeof fetch;
  signal: AbortSignal;
}

/**
 * `xtalk api`: one request with a fresh access token of `account`. When the API answers 401
 * `invalid_token` (the token was revoked or rotated early), the session is refreshed once and the
 * request sent once more — unless its body was a stream (stdin) already consumed: then the session
 * is still refreshed, so running the command again works, and the 401 is returned.
 * A second 401 `invalid_token` after the refresh throws SessionExpiredError (exit 4).
 * A URL the token may not go to (`req.policy`) is refused before the session is touched.
 */
export async function callApi(deps: ApiRequestDeps, input: ApiRequestInput): Promise<Response> {
  const { account, request: req } = input;
  const http = { fetch: input.fetch, signal: input.signal, warn: (l: string) => deps.ui.warn(l), debug: (l: string) => deps.ui.debug(l) };
  requireBearerDestination(req.url, req.policy);
  const token = await getFreshToken(deps, { account });
  const first = await sendApiRequest(http, req, token.accessToken);
  if (!(await isInvalidToken(first))) return first;
  deps.ui.debug('api: the access token was refused (invalid_token); refreshing the session');
  // Not `force`: callers refused at the same moment share one refresh.
  const renewed = await getFreshToken(deps, { account, rejected: token.accessToken });
  if (req.body.kind === 'stream') {
    deps.ui.warn(
      'The API refused the access token; the session is refreshed now, but the request body from stdin was used up: run the command again.',
    );
    return first;
  }
  await first.body?.cancel().catch(() => {});
  const second = await sendApiRequest(http, req, renewed.accessToken);
  if (await isInvalidToken(second)) {
    await second.body?.cancel().catch(() => {});
    throw new SessionExpiredError('SESSION_EXPIRED', 'The API refused the access token again after a refresh (401 invalid_token).', {
      facts: { reason: 'api_refused_after_refresh' },
    });
  }
  return second;
}
