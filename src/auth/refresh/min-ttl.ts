import type { StoredAccessToken } from '../../core/session-records.js';
import { UsageError } from '../../errors.js';

/** The default refresh margin; capped at half the token's lifetime so short-lived tokens don't refresh on every call. */
export const DEFAULT_MIN_TTL_SECONDS = 60;

/** True when `token` stays valid for longer than the refresh margin. */
export function isFresh(token: Pick<StoredAccessToken, 'expiresAt' | 'createdAt'>, now: number, minTtlSeconds?: number): boolean {
  const margin = minTtlSeconds !== undefined ? minTtlSeconds * 1000 : defaultMarginMs(token);
  return token.expiresAt - now > margin;
}

/** The refresh margin without `--min-ttl`, in ms: {@link DEFAULT_MIN_TTL_SECONDS}, at most half the token's lifetime. */
export function defaultMarginMs(token: Pick<StoredAccessToken, 'expiresAt' | 'createdAt'>): number {
  return Math.min(DEFAULT_MIN_TTL_SECONDS * 1000, (token.expiresAt - token.createdAt) / 2);
}

/**
 * One rule for every door with a min-ttl (`token`, `exec`, the Node API's `minTtl`): a token refreshed
 * since the call began that still expires within the asked margin says the provider's tokens are
 * shorter than that, so no refresh can ever satisfy the request. That is an error (the refreshed
 * token is stored all the same), never a silent refresh on every call.
 */
export function unsatisfiable(
  token: Pick<StoredAccessToken, 'expiresAt' | 'createdAt'>,
  minTtlSeconds: number | undefined,
  startedAt: number,
  now: number,
): boolean {
  return minTtlSeconds !== undefined && token.createdAt >= startedAt && !isFresh(token, now, minTtlSeconds);
}

/** MIN_TTL_UNSATISFIABLE (exit 2) for a refreshed `token` that is shorter than `minTtlSeconds`. */
export function unsatisfiableError(
  token: Pick<StoredAccessToken, 'expiresAt' | 'createdAt'>,
  minTtlSeconds: number,
): UsageError<'MIN_TTL_UNSATISFIABLE'> {
  const lifetimeSeconds = Math.round((token.expiresAt - token.createdAt) / 1000);
  return new UsageError(
    'MIN_TTL_UNSATISFIABLE',
    `A token valid for ${minTtlSeconds} more seconds was asked for, but the provider's access tokens last ${lifetimeSeconds} s.`,
    { facts: { minTtlSeconds, lifetimeSeconds } },
  );
}
