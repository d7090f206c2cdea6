import { personClaims } from './account-view.js';
import type { Context } from '../context.js';
import type { ResolvedConfig } from '../config/resolve.js';
import {
  CancelledError,
  KeychainError,
  NetworkError,
  ProviderError,
  SessionExpiredError,
  StoreError,
  XtalkError,
  type ExitCodeValue,
} from '../errors.js';
import type { ProviderClient, ProviderSettings } from '../oidc/client.js';
import { quote, VALIDATION_HINT } from '../oidc/error-text.js';
import type { Ui } from '../output/ui.js';
import type { AccountStore } from '../store/index.js';
import type { AccountRecord, RefreshFailure, StoredAccessToken } from '../store/types.js';

/** The default refresh margin; capped at half the token's lifetime so short-lived tokens don't refresh on every call. */
export const DEFAULT_MIN_TTL_SECONDS = 60;

/** Per-request limit while the write lock is held: two calls must fit inside the SQLite busy timeout. */
const LOCKED_REQUEST_TIMEOUT_SECONDS = 10;

/**
 * All provider calls under the write lock together (discovery, the refresh, the keys, a retry) end
 * by then: well inside the 30 s other xtalk processes wait for the lock, so they get its result
 * instead of "database is locked".
 */
export const LOCKED_WORK_SECONDS = 20;

export interface FreshTokenDeps {
  ctx: Pick<Context, 'now' | 'discover' | 'faultPoint'>;
  ui: Pick<Ui, 'debug'>;
  store: AccountStore;
  config: ResolvedConfig;
  /** Default {@link LOCKED_WORK_SECONDS}; tests shorten it. */
  lockedWorkSeconds?: number;
}

export interface FreshTokenOptions {
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
  const margin = minTtlSeconds !== undefined ? minTtlSeconds * 1000 : Math.min(DEFAULT_MIN_TTL_SECONDS * 1000, (token.expiresAt - token.createdAt) / 2);
  return token.expiresAt - now > margin;
}

/**
 * A valid access token for `account`. The fast path reads the store only: no network, no
 * openid-client. Otherwise one refresh runs under the database write lock; whoever gets the lock
 * second re-reads the store and uses the token the first one stored (single flight across processes).
 */
export async function getFreshToken(deps: FreshTokenDeps, account: AccountRecord, opts: FreshTokenOptions = {}): Promise<StoredAccessToken> {
  const { ctx, store } = deps;
  const startedAt = ctx.now();
  if (!opts.force && opts.rejected === undefined) {
    const current = await store.latestAccessToken(account.id);
    if (current && isFresh(current, startedAt, opts.minTtlSeconds)) return current;
  }
  const outcome = await store.withWriteLock(async (): Promise<{ token: StoredAccessToken } | { failure: XtalkError }> => {
    await ctx.faultPoint('refresh-locked');
    // The process this one waited for failed: report its error rather than try again and hold
    // everyone behind it up once more (waiters' patience is the SQLite busy timeout).
    const shared = store.refreshFailureSince(account.id, startedAt);
    if (shared) {
      deps.ui.debug('the refresh another process did while this one waited failed; reporting its error');
      return { failure: reviveFailure(shared) };
    }
    const limitSeconds = deps.lockedWorkSeconds ?? LOCKED_WORK_SECONDS;
    const deadline = AbortSignal.timeout(limitSeconds * 1000);
    try {
      return { token: await refreshLocked(deps, account, opts, startedAt, deadline) };
    } catch (e) {
      if (!(e instanceof XtalkError) || e instanceof CancelledError || e instanceof StoreError || e instanceof KeychainError) throw e;
      const failure = deadline.aborted && e instanceof NetworkError ? lockDeadlineError(e, limitSeconds) : e;
      // Committed with the lock: the waiting processes read it as soon as they get the lock.
      store.recordRefreshFailure(account.id, { at: ctx.now(), name: failure.name, message: failure.message, hint: failure.hint, exitCode: failure.exitCode });
      return { failure };
    }
  });
  if ('failure' in outcome) throw outcome.failure;
  await ctx.faultPoint('refresh-committed');
  return outcome.token;
}

/** Under the write lock: the refresh itself, unless another process stored a fresh token meanwhile. */
async function refreshLocked(deps: FreshTokenDeps, account: AccountRecord, opts: FreshTokenOptions, startedAt: number, deadline: AbortSignal): Promise<StoredAccessToken> {
  const { ctx, store } = deps;
  const latest = await store.latestAccessToken(account.id);
  const refreshedMeanwhile =
    latest &&
    (opts.rejected !== undefined
      ? latest.accessToken !== opts.rejected && isFresh(latest, ctx.now(), opts.minTtlSeconds)
      : opts.force
        ? latest.createdAt >= startedAt
        : isFresh(latest, ctx.now(), opts.minTtlSeconds));
  if (latest && refreshedMeanwhile) {
    deps.ui.debug('another process refreshed the token while this one waited');
    return latest;
  }
  const stored = await store.refreshToken(account.id);
  if (!stored) {
    throw new SessionExpiredError('The access token has expired and the session has no refresh token.', {
      hint: 'Run `xtalk login` (with the offline_access scope the session renews itself).',
    });
  }
  const provider = await discoverFor(deps, account, undefined, deadline);
  let result;
  try {
    result = await provider.refresh(stored.refreshToken);
  } catch (e) {
    if (!(e instanceof SessionExpiredError)) throw e;
    // A writer outside the lock may have rotated it; never retry with the token that just failed.
    const again = await store.refreshToken(account.id);
    if (!again || again.refreshToken === stored.refreshToken) throw e;
    result = await provider.refresh(again.refreshToken);
  }
  await ctx.faultPoint('refresh-response');
  checkSameSession(result.idClaims, account, provider.issuer);
  const saved = await store.saveRefresh(account.id, result.grant, result.idClaims && personClaims(result.idClaims), ctx.now());
  // Still inside the write lock: a crash here rolls the new tokens back like any point above.
  await ctx.faultPoint('refresh-saved');
  return saved;
}

function lockDeadlineError(cause: NetworkError, seconds: number): NetworkError {
  return new NetworkError(`The provider did not complete the token refresh within ${seconds} s; xtalk gave up so that other xtalk processes waiting for it are not held up.`, {
    hint: 'Check the network and the provider, then try again.',
    cause,
  });
}

/** The error another process recorded, as the same class, so it is reported the same way. */
function reviveFailure(f: RefreshFailure): XtalkError {
  const hint = f.hint;
  switch (f.name) {
    case 'SessionExpiredError':
      return new SessionExpiredError(f.message, { hint });
    case 'NetworkError':
      return new NetworkError(f.message, { hint });
    case 'ProviderError':
      return new ProviderError(f.message, { hint });
    default:
      return new XtalkError(f.message, { hint, exitCode: f.exitCode as ExitCodeValue });
  }
}

/**
 * The provider client for a stored account, with this machine's client secret when it is the same
 * client. `revocation` fills in an endpoint discovery lacks (logout decides which one).
 */
export function discoverFor(
  deps: Pick<FreshTokenDeps, 'ctx' | 'config'>,
  account: AccountRecord,
  revocation?: { endpoint: string; from: string },
  deadline?: AbortSignal,
): Promise<ProviderClient> {
  const { config } = deps;
  const clientId = account.clientId ?? config.clientId;
  if (!clientId) throw new SessionExpiredError('The stored session does not say which client it belongs to.');
  const sameClient = config.issuer === account.issuer && config.clientId === clientId;
  return deps.ctx.discover({
    issuer: account.issuer,
    clientId,
    ...(sameClient ? clientSettings(config) : {}),
    clientSecret: sameClient ? config.clientSecret : undefined,
    revocationEndpoint: revocation?.endpoint,
    revocationEndpointFrom: revocation?.from,
    timeoutSeconds: Math.min(LOCKED_REQUEST_TIMEOUT_SECONDS, config.httpTimeoutSeconds),
    deadline,
    now: deps.ctx.now,
  });
}

/** How this machine's configured client presents itself: discovery URL, ID-token alg, auth method. */
export function clientSettings(config: ResolvedConfig): Pick<ProviderSettings, 'discoveryUrl' | 'idTokenSigningAlg' | 'tokenAuthMethod'> {
  return { discoveryUrl: config.discoveryUrl, idTokenSigningAlg: config.idTokenSigningAlg, tokenAuthMethod: config.tokenAuthMethod };
}

/** OIDC Core 12.2: an ID token in a refresh response must be about the same session. */
function checkSameSession(idClaims: Record<string, unknown> | undefined, account: AccountRecord, issuer: string): void {
  if (!idClaims) return;
  const hint = { hint: VALIDATION_HINT };
  if (idClaims.iss !== account.issuer || issuer !== account.issuer) {
    throw new ProviderError(`The refreshed ID token was issued by ${quote(idClaims.iss)}, not ${quote(account.issuer)}; nothing was stored.`, hint);
  }
  if (idClaims.sub !== account.sub) {
    throw new ProviderError(`The refreshed ID token is for subject ${quote(idClaims.sub)}, not ${quote(account.sub)}; nothing was stored.`, hint);
  }
  const aud = Array.isArray(idClaims.aud) ? idClaims.aud : [idClaims.aud];
  if (account.clientId && !aud.includes(account.clientId)) {
    throw new ProviderError(`The refreshed ID token is not meant for client ${quote(account.clientId)}; nothing was stored.`, hint);
  }
}
