import { NotLoggedInError, UsageError } from '../errors.js';
import { typeableName } from '../core/terminal-text.js';
import { displayName } from './account-view.js';
import type { AccountRecord } from '../core/session-records.js';
import type { TokenStore } from '../core/ports.js';

/**
 * The account a command acts on: the one `--account` names (username, email or sub), else the
 * current one. An ambiguous name is a usage error listing the candidates, since usernames are
 * not unique.
 */
export function selectAccount(store: TokenStore, selector: string | undefined): AccountRecord {
  if (selector === undefined) {
    const current = store.currentAccount();
    if (current) return current;
    // A profile kept by `logout --keep-profile` (or an older xtalk) cannot be switched to.
    const signedIn = store.listAccounts().filter((a) => store.hasSession(a.id)).length;
    if (signedIn > 0) {
      throw new NotLoggedInError('No account is selected.', 'Run `xtalk switch <account>` (see `xtalk status`) or `xtalk login`.');
    }
    throw new NotLoggedInError();
  }
  const matches = findAccounts(store, selector);
  if (matches.length === 0) {
    throw new NotLoggedInError(`No stored account matches "${selector}".`, 'Run `xtalk status` to list accounts, or `xtalk login` to add one.');
  }
  if (matches.length > 1) {
    const list = matches.map((a) => `  ${displayName(a)}  sub=${a.sub}  issuer=${a.issuer}`).join('\n');
    throw new UsageError(`"${selector}" matches ${matches.length} accounts:\n${list}`, 'Name the account by its sub instead.');
  }
  const account = matches[0]!;
  if (!store.hasSession(account.id)) {
    throw new NotLoggedInError(`${displayName(account)} at ${account.issuer} is logged out.`, 'Run `xtalk login` to sign in again.');
  }
  return account;
}

/**
 * Accounts whose sub, username or email is `selector`; else those whose name, with its control and
 * bidi characters escaped, is — the form `xtalk status` shows and completion offers.
 */
function findAccounts(store: TokenStore, selector: string): AccountRecord[] {
  const exact = store.findAccounts(selector);
  if (exact.length > 0 || !selector.includes('\\u')) return exact;
  return store.listAccounts().filter((a) => [a.sub, a.username, a.email].some((v) => v && v !== typeableName(v) && typeableName(v) === selector));
}
