import { NotLoggedInError, UsageError } from '../errors.js';
import { typeableName } from '../core/terminal-text.js';
import { displayName } from './account-view.js';
import type { AccountRecord } from '../core/session-records.js';
import type { Accounts } from '../core/ports.js';

/**
 * The account a command acts on: the one `--account` names (username, email or sub), else the
 * current one. An ambiguous name is a usage error listing the candidates, since usernames are
 * not unique.
 */
export function selectAccount(store: Accounts, selector: string | undefined): AccountRecord {
  if (selector === undefined) {
    const current = store.currentAccount();
    if (current) return current;
    // A profile kept by `logout --keep-profile` (or an older xtalk) cannot be switched to.
    const signedIn = store.listAccounts().filter((a) => store.hasSession(a.id)).length;
    if (signedIn > 0) {
      throw new NotLoggedInError('LOGIN_REQUIRED', 'No account is selected.', { facts: { reason: 'none_selected' } });
    }
    throw new NotLoggedInError('LOGIN_REQUIRED', 'You are not logged in.');
  }
  const matches = findAccounts(store, selector);
  if (matches.length === 0) {
    throw new NotLoggedInError('LOGIN_REQUIRED', `No stored account matches "${selector}".`, { facts: { reason: 'no_match' } });
  }
  if (matches.length > 1) {
    const list = matches.map((a) => `  ${displayName(a)}  sub=${a.sub}  issuer=${a.issuer}`).join('\n');
    throw new UsageError('USAGE', `"${selector}" matches ${matches.length} accounts:\n${list}`, { facts: { reason: 'ambiguous_account' } });
  }
  const account = matches[0]!;
  if (!store.hasSession(account.id)) {
    throw new NotLoggedInError('LOGIN_REQUIRED', `${displayName(account)} at ${account.issuer} is logged out.`, {
      facts: { reason: 'logged_out' },
    });
  }
  return account;
}

/**
 * Accounts whose sub, username or email is `selector`; else those whose name, with its control and
 * bidi characters escaped, is — the form `xtalk status` shows and completion offers.
 */
function findAccounts(store: Accounts, selector: string): AccountRecord[] {
  const exact = store.findAccounts(selector);
  if (exact.length > 0 || !selector.includes('\\u')) return exact;
  return store
    .listAccounts()
    .filter((a) => [a.sub, a.username, a.email].some((v) => v && v !== typeableName(v) && typeableName(v) === selector));
}
