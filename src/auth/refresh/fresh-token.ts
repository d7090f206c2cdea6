import { personClaims } from '../account-view.js';
import type { Context } from '../../core/context.js';
import { CancelledError, KeychainError, NetworkError, SessionExpiredError, StoreError, XtalkError } from '../../errors.js';
import { GRANT_ANSWER_SECONDS } from '../../oidc/refresh-grant.js';
import type { Ui } from '../../output/ui.js';
import type { Run } from '../run.js';
import type { AccountRecord, StoredAccessToken } from '../../core/session-records.js';
import type { LearnedAuthMethods, OpenIdProvider, SessionRefresh, SessionTokens } from '../../core/ports.js';
import type { RefreshResult } from '../../core/provider-records.js';
import { anySignal } from '../../shared/abort.js';
import { checkFailure, sameSessionProblem } from './answer-checks.js';
import { failureRecord, reviveFailure } from './shared-failure.js';

/** The default refresh margin; capped at half the token's lifetime so short-lived tokens don't refresh on every call. */
export const DEFAULT_MIN_TTL_SECONDS = 60;

/**
 * Everything before the grant under the write lock (discovery, the provider's keys) ends by then.
 * The grant itself is bounded apart (GRANT_ANSWER_SECONDS): once sent, its answer is awaited.
 */
export const PREPARE_SECONDS = 20;

/**
 * How long a caller waits for another process's refresh (a whole refresh's bounds, and some):
 * then it takes the still-valid token if there is one, else it fails with REFRESH_WAIT_TIMEOUT.
 */
export const WAIT_FOR_REFRESH_SECONDS = PREPARE_SECONDS + GRANT_ANSWER_SECONDS + 10;

/** Waiters look at the store this often (doubling from the first, with jitter so they spread out). */
const FIRST_PAUSE_MS = 25;
const MAX_PAUSE_MS = 250;

/**
 * The part of a run a refresh uses: the Node API's run has no terminal, so only `debug` (and perhaps
 * `warn`); of the store, only the parts a refresh calls.
 */
export type FreshTokenDeps = Pick<
  Run<Pick<Context, 'now' | 'sleep' | 'faultPoint'> & Partial<Pick<Context, 'signal'>>, Pick<Ui, 'debug'> & Partial<Pick<Ui, 'warn'>>>,
  'ctx' | 'ui' | 'provider'
> &
  RefreshLimits & { store(): Pick<SessionTokens, 'latestAccessToken' | 'refreshToken'> & SessionRefresh & LearnedAuthMethods };

export interface RefreshLimits {
  /** Defaults {@link PREPARE_SECONDS}, GRANT_ANSWER_SECONDS, {@link WAIT_FOR_REFRESH_SECONDS}; tests shorten them. */
  prepareSeconds?: number;
  answerSeconds?: number;
  waitSeconds?: number;
}

export interface FreshTokenInput {
  account: AccountRecord;
  /** An explicit `--min-ttl`; without it the default applies, capped at half the lifetime. */
  minTtlSeconds?: number | undefined;
  /** Refresh even if the stored token is still valid (`xtalk refresh`). */
  force?: boolean;
  /**
   * An access token a resource server just refused (401 `invalid_token`): refresh unless the store
   * already holds a different one, so callers that were refused together cause one refresh.
   */
  rejected?: string;
}

/** True when `token` stays valid for longer than the refresh margin. */
export function isFresh(token: Pick<StoredAccessToken, 'expiresAt' | 'createdAt'>, now: number, minTtlSeconds?: number): boolean {
  const margin = minTtlSeconds !== undefined ? minTtlSeconds * 1000 : defaultMarginMs(token);
  return token.expiresAt - now > margin;
}

/** The refresh margin without `--min-ttl`, in ms: {@link DEFAULT_MIN_TTL_SECONDS}, at most half the token's lifetime. */
export function defaultMarginMs(token: Pick<StoredAccessToken, 'expiresAt' | 'createdAt'>): number {
  return Math.min(DEFAULT_MIN_TTL_SECONDS * 1000, (token.expiresAt - token.createdAt) / 2);
}

/** `again`: nothing was sent, and this process ran out of its own time (under load): try again. */
type Outcome = { token: StoredAccessToken } | { failure: XtalkError } | { again: XtalkError };

/** A refresh answer not yet committed: stored again outside the lock if the commit itself fails. */
interface Pending {
  save?: () => Promise<StoredAccessToken>;
}

/**
 * A valid access token for `account`. When the stored token is fresh it reads the store only: no network, no
 * openid-client. Otherwise one process refreshes under the database write lock and the others
 * wait for its result, watching the store (single flight across processes). The holder secures
 * everything that can fail locally and everything that can be fetched before it sends the grant,
 * awaits the answer once sent, and stores it before any check can discard it (README "Reliability").
 */
export async function getFreshToken(deps: FreshTokenDeps, opts: FreshTokenInput): Promise<StoredAccessToken> {
  const { ctx } = deps;
  const { account } = opts;
  const store = deps.store();
  const startedAt = ctx.now();
  if (!opts.force && opts.rejected === undefined) {
    const current = await store.latestAccessToken(account.id);
    if (current && isFresh(current, startedAt, opts.minTtlSeconds)) return current;
  }
  const waitUntil = startedAt + (deps.waitSeconds ?? WAIT_FOR_REFRESH_SECONDS) * 1000;
  let triedAgain = false;
  for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
    const pending: Pending = {};
    let turn;
    try {
      turn = await store.tryWriteLock(() => refreshHolding(deps, account, opts, startedAt, pending));
    } catch (e) {
      // The answer was in hand but its commit failed (the disk filled after the check): once more on its own.
      if (pending.save && e instanceof StoreError) return pending.save();
      throw e;
    }
    if (turn.locked) {
      if ('failure' in turn.value) throw turn.value.failure;
      if ('again' in turn.value) {
        // A keychain or discovery too slow for this process's limits, before anything was sent:
        // under load that is often this process's own slowness, so it waits its turn once more
        // like any caller; a second time it is the provider's (or the keychain's) and reported.
        if (triedAgain || ctx.now() >= waitUntil) throw turn.value.again;
        triedAgain = true;
        deps.ui.debug(`nothing was sent (${turn.value.again.message}); trying again`);
        await ctx.sleep(pause / 2 + Math.random() * pause, ctx.signal);
        continue;
      }
      await ctx.faultPoint('refresh-committed');
      return turn.value.token;
    }
    // Another process is refreshing: its result is what this caller wants.
    const shared = store.refreshFailureSince(account.id, startedAt);
    if (shared) throw reviveFailure(shared);
    const latest = await store.latestAccessToken(account.id);
    if (latest && refreshedSince(latest, opts, startedAt, ctx.now())) return latest;
    if (ctx.now() >= waitUntil) {
      if (latest && !opts.force && latest.accessToken !== opts.rejected && latest.expiresAt > ctx.now()) {
        deps.ui.debug('another process is still refreshing; using the stored token, which is still valid');
        return latest;
      }
      const seconds = Math.round((ctx.now() - startedAt) / 1000);
      throw new NetworkError(
        'REFRESH_WAIT_TIMEOUT',
        `Another xtalk process has been refreshing this session for ${seconds} s without a result.`,
      );
    }
    await ctx.sleep(pause / 2 + Math.random() * pause, ctx.signal);
  }
}

/** Whether `latest` is what this caller asked for, stored by another process after it started. */
function refreshedSince(latest: StoredAccessToken, opts: FreshTokenInput, startedAt: number, now: number): boolean {
  if (opts.rejected !== undefined) return latest.accessToken !== opts.rejected && isFresh(latest, now, opts.minTtlSeconds);
  if (opts.force) return latest.createdAt >= startedAt;
  return isFresh(latest, now, opts.minTtlSeconds);
}

/** Under the write lock: the refresh itself, unless another process stored a fresh token (or failed) meanwhile. */
async function refreshHolding(
  deps: FreshTokenDeps,
  account: AccountRecord,
  opts: FreshTokenInput,
  startedAt: number,
  pending: Pending,
): Promise<Outcome> {
  const { ctx } = deps;
  const store = deps.store();
  await ctx.faultPoint('refresh-locked');
  // The process this one waited for failed: report its error rather than try again and hold
  // everyone behind it up once more.
  const shared = store.refreshFailureSince(account.id, startedAt);
  if (shared) {
    deps.ui.debug('the refresh another process did while this one waited failed; reporting its error');
    return { failure: reviveFailure(shared) };
  }
  const latest = await store.latestAccessToken(account.id);
  if (latest && refreshedSince(latest, opts, startedAt, ctx.now())) {
    deps.ui.debug('another process refreshed the token while this one waited');
    return { token: latest };
  }
  let prepared;
  try {
    prepared = await prepareGrant(deps, account);
  } catch (e) {
    // A limit of this process (under load it may be slow itself) is not the provider's answer.
    if (e instanceof XtalkError && e.facts.timedOut && !(e instanceof CancelledError)) return { again: e };
    if (!(e instanceof XtalkError) || e instanceof CancelledError || e instanceof StoreError || e instanceof KeychainError) throw e;
    store.recordRefreshFailure(account.id, failureRecord(e, ctx.now()));
    return { failure: e };
  }
  try {
    // A refresh asks for the session's scope again; an answer that does not name one grants it.
    return await grantAndStore(deps, account, prepared.provider, prepared.refreshToken, pending, latest?.scope ?? null);
  } catch (e) {
    if (!(e instanceof XtalkError) || e instanceof CancelledError || e instanceof StoreError || e instanceof KeychainError) throw e;
    // An answer this process gave up on is not the provider's answer either: the next caller tries.
    if (e.facts.timedOut) throw e;
    // Committed with the lock: the waiting processes read it as soon as it is released.
    store.recordRefreshFailure(account.id, failureRecord(e, ctx.now()));
    return { failure: e };
  }
}

/**
 * Everything before the grant: the refresh token, the data key for writing and room for the rows
 * (local failures), discovery and the provider's keys (fetched now, so nothing is fetched between
 * the answer and its commit). A failure here leaves the session as it was.
 */
async function prepareGrant(deps: FreshTokenDeps, account: AccountRecord): Promise<{ provider: OpenIdProvider; refreshToken: string }> {
  const { ctx } = deps;
  const store = deps.store();
  const stored = await store.refreshToken(account.id);
  if (!stored) {
    throw new SessionExpiredError('SESSION_EXPIRED', 'The access token has expired and the session has no refresh token.', {
      facts: { reason: 'no_refresh_token' },
    });
  }
  await store.prepareRefreshWrite(account.id);
  const deadline = anySignal([ctx.signal], (deps.prepareSeconds ?? PREPARE_SECONDS) * 1000);
  try {
    const provider = await deps.provider(account, { deadline, learnedIn: deps.store });
    // Best effort: without the keys the answer's ID token is checked (or found uncheckable) after it.
    await provider.prefetchKeys();
    if (ctx.signal?.aborted) throw new CancelledError('CANCELLED', 'Cancelled.');
    return { provider, refreshToken: stored.refreshToken };
  } catch (e) {
    if (ctx.signal?.aborted) throw new CancelledError('CANCELLED', 'Cancelled.');
    throw e;
  }
}

/**
 * The grant, and its answer committed the moment it arrives (before openid-client reads it), so a
 * process killed after that keeps the rotated refresh token. Then the checks: an ID token that
 * passes adds its claims; one that cannot be checked for want of the provider's keys leaves the
 * tokens in use and the account's details as they were; one that fails withdraws the access token
 * (the rotated refresh token stays) and reports the failure.
 */
async function grantAndStore(
  deps: FreshTokenDeps,
  account: AccountRecord,
  provider: OpenIdProvider,
  refreshToken: string,
  pending: Pending,
  sessionScope: string | null,
): Promise<Outcome> {
  const { ctx } = deps;
  const store = deps.store();
  let committed: { rowId: number } | undefined;
  const send = (token: string) =>
    provider.refresh(token, {
      answerSeconds: deps.answerSeconds ?? GRANT_ANSWER_SECONDS,
      sessionScope,
      onAnswer: (grant) => {
        committed = { rowId: store.commitRefreshAnswer(account.id, grant, ctx.now()) };
      },
    });
  let result: RefreshResult;
  try {
    result = await send(refreshToken);
  } catch (e) {
    if (!(e instanceof SessionExpiredError)) throw e;
    // A writer outside the lock may have rotated it; never retry with the token that just failed.
    const again = await store.refreshToken(account.id);
    if (!again || again.refreshToken === refreshToken) throw e;
    result = await send(again.refreshToken);
  }
  await ctx.faultPoint('refresh-response');
  const { grant } = result;
  const problem = result.unverified ?? sameSessionProblem(result.idClaims, account, provider.issuer);
  if (!problem || (problem.keysUnavailable && grant.accessToken)) {
    const claims = problem ? undefined : result.idClaims && personClaims(result.idClaims);
    const save = committed
      ? () => store.confirmRefresh(account.id, problem ? null : (grant.idToken ?? null), claims, ctx.now())
      : () => store.saveRefresh(account.id, grant, claims, ctx.now());
    pending.save = save;
    const saved = await save();
    await ctx.faultPoint('refresh-saved');
    if (problem) {
      deps.ui.warn?.(
        "The provider's signing keys could not be fetched, so the refreshed ID token was not verified; the new tokens were stored and the account's details left as they were.",
      );
    }
    return { token: saved };
  }
  if (committed) {
    if (committed.rowId) store.withdrawAccessToken(account.id, committed.rowId);
  } else if (grant.refreshToken) {
    const rotated = grant.refreshToken;
    pending.save = async () => {
      await store.saveRotatedRefreshToken(account.id, rotated, ctx.now());
      throw problem.error;
    };
    await store.saveRotatedRefreshToken(account.id, rotated, ctx.now());
  }
  const failure = checkFailure(problem.error, Boolean(grant.refreshToken));
  store.recordRefreshFailure(account.id, failureRecord(failure, ctx.now()));
  return { failure };
}
