import { displayName } from '../auth/account-view.js';
import { selectAccount } from '../auth/select-account.js';
import type { Run } from '../auth/run.js';
import type { Context } from '../core/context.js';
import { ExitCode, isXtalkError } from '../errors.js';
import { formatRelative } from '../output/time.js';
import { fail, ok, warn, type CheckResult } from './check.js';

/**
 * The stored session of `--account` (or the current account): whether it exists and will keep
 * working. Reads no secret, so it never touches the keychain. Undefined when nothing is stored and
 * no account was named: a machine nobody has signed in on yet has nothing to check. The run closes the store.
 */
export function checkSession(
  run: Pick<Run<Pick<Context, 'now'>>, 'ctx' | 'paths' | 'storeExists' | 'store'>,
  selector: string | undefined,
): CheckResult | undefined {
  if (!run.storeExists()) {
    return selector ? warn('session', `no stored accounts (nothing at ${run.paths().dbPath})`, 'Run `xtalk login`.') : undefined;
  }
  let store;
  try {
    store = run.store();
  } catch (e) {
    if (!isXtalkError(e)) throw e;
    return fail('session', e.message, e.hint);
  }
  if (!selector && store.listAccounts().length === 0) return undefined;
  let account;
  try {
    account = selectAccount(store, selector);
  } catch (e) {
    if (!isXtalkError(e)) throw e;
    return (e.exitCode === ExitCode.AuthRequired ? warn : fail)('session', e.message, e.hint);
  }
  const now = run.ctx.now();
  const expiry = store.latestAccessTokenExpiry(account.id);
  const renews = store.hasRefreshToken(account.id);
  const token =
    expiry === undefined ? 'no access token' : `access token ${expiry > now ? 'expires' : 'expired'} ${formatRelative(expiry, now)}`;
  const detail = `${displayName(account)} at ${account.issuer}; ${token}; ${renews ? 'a refresh token renews it' : 'no refresh token'}`;
  if (!renews && (expiry === undefined || expiry <= now))
    return warn('session', detail, 'Run `xtalk login` (ask for the offline_access scope so the session renews itself).');
  return ok('session', detail);
}
