import { toAccountJson, toTokenJson, type AccountJson, type TokenJson } from '../auth/account-view.js';
import { UsageError } from '../errors.js';
import { programCall } from './hints.js';
import { withSession, withStore } from './open-session.js';
import type { SessionOptions, TokenRequest } from './options.js';
import { sessionToken } from './session-token.js';

export type { SessionOptions, TokenRequest } from './options.js';

/** `minTtl` as the refresh margin in seconds; anything but a non-negative number is a usage error. */
export function minTtlSeconds(minTtl: number | undefined): number | undefined {
  if (minTtl === undefined) return undefined;
  if (typeof minTtl !== 'number' || !Number.isFinite(minTtl) || minTtl < 0) {
    throw new UsageError('USAGE', `minTtl expects a number of seconds, got ${String(minTtl)}.`, { facts: { reason: 'min_ttl' } });
  }
  return minTtl;
}

/**
 * A valid access token for the account, refreshed first when it expires within `minTtl` seconds.
 * The same single-flight refresh as `xtalk token`: Node processes and shells calling at once cause
 * one refresh. The token is kept in memory between calls and read from the store again whenever
 * the settings, the store or its key file changed (a login, logout, `switch` or refresh by anyone)
 * or it is no longer fresh enough. Throws {@link LoginRequiredError} (code LOGIN_REQUIRED or SESSION_EXPIRED) where
 * the CLI exits 4.
 */
export async function getAccessToken(opts: TokenRequest = {}): Promise<string> {
  return (await getToken(opts)).access_token;
}

/** As {@link getAccessToken}, with the token's type, expiry and scope (the `xtalk token --json` object). */
export async function getToken(opts: TokenRequest = {}): Promise<TokenJson> {
  const minTtl = programCall(() => minTtlSeconds(opts.minTtl));
  return toTokenJson((await sessionToken(opts, { minTtlSeconds: minTtl })).token);
}

/** The account as `xtalk whoami --json` shows it, from the local store only (no network). */
export function whoami(opts: SessionOptions = {}): Promise<AccountJson> {
  return withSession(opts, ({ run, account }) => {
    const store = run.store();
    return toAccountJson(account, store.latestAccessTokenExpiry(account.id), store.credentialStore());
  });
}

/** Every stored account as `xtalk status --json` lists them, the current one with `current: true`. */
export function listAccounts(opts: Omit<SessionOptions, 'account'> = {}): Promise<AccountJson[]> {
  return withStore(opts, (run) => {
    const store = run.store();
    const backend = store.credentialStore();
    return store.listAccounts().map((a) => toAccountJson(a, store.latestAccessTokenExpiry(a.id), backend));
  });
}
