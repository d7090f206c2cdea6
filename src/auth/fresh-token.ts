import { personClaims } from './account-view.js';
import type { Context } from '../context.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { ProviderError, SessionExpiredError } from '../errors.js';
import type { ProviderClient, ProviderSettings } from '../oidc/client.js';
import { quote, VALIDATION_HINT } from '../oidc/error-text.js';
import type { Ui } from '../output/ui.js';
import type { AccountStore } from '../store/index.js';
import type { AccountRecord, StoredAccessToken } from '../store/types.js';

/** The default refresh margin; capped at half the token's lifetime so short-lived tokens don't refresh on every call. */
export const DEFAULT_MIN_TTL_SECONDS = 60;

/** Per-request limit while the write lock is held: two calls must fit inside the SQLite busy timeout. */
const LOCKED_REQUEST_TIMEOUT_SECONDS = 10;

export interface FreshTokenDeps {
  ctx: Pick<Context, 'now' | 'discover' | 'faultPoint'>;
  ui: Ui;
  store: AccountStore;
  config: ResolvedConfig;
}

export interface FreshTokenOptions {
  /** An explicit `--min-ttl`; without it the default applies, capped at half the lifetime. */
  minTtlSeconds?: number | undefined;
  /** Refresh even if the stored token is still valid (`xtalk refresh`). */
  force?: boolean;
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
  if (!opts.force) {
    const current = await store.latestAccessToken(account.id);
    if (current && isFresh(current, startedAt, opts.minTtlSeconds)) return current;
  }
  const token = await store.withWriteLock(async () => {
    await ctx.faultPoint('refresh-locked');
    const latest = await store.latestAccessToken(account.id);
    const refreshedMeanwhile = latest && (opts.force ? latest.createdAt >= startedAt : isFresh(latest, ctx.now(), opts.minTtlSeconds));
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
    const provider = await discoverFor(deps, account);
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
  });
  await ctx.faultPoint('refresh-committed');
  return token;
}

/** The provider client for a stored account, with this machine's client secret when it is the same client. */
export function discoverFor(deps: Pick<FreshTokenDeps, 'ctx' | 'config'>, account: AccountRecord): Promise<ProviderClient> {
  const { config } = deps;
  const clientId = account.clientId ?? config.clientId;
  if (!clientId) throw new SessionExpiredError('The stored session does not say which client it belongs to.');
  const sameClient = config.issuer === account.issuer && config.clientId === clientId;
  return deps.ctx.discover({
    issuer: account.issuer,
    clientId,
    ...(sameClient ? clientSettings(config) : {}),
    clientSecret: sameClient ? config.clientSecret : undefined,
    revocationEndpoint: sameClient ? config.revocationEndpoint : undefined,
    timeoutSeconds: Math.min(LOCKED_REQUEST_TIMEOUT_SECONDS, config.httpTimeoutSeconds),
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
