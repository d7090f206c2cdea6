import type { Command } from 'commander';
import { displayName } from '../auth/account-view.js';
import { endProviderSession } from '../auth/logout/end-session.js';
import { logoutAccount, type LogoutResult } from '../auth/logout/logout.js';
import { selectAccount } from '../auth/select-account.js';
import type { Run } from '../auth/run.js';
import { addCommonOptions, openCommandRun, type CommonOptions, closeChangingRun } from './command-env.js';
import type { Context } from '../core/context.js';
import { ExitCode, NotLoggedInError, RevocationFailedError, XtalkError, type FactsOf } from '../errors.js';
import type { AccountRecord } from '../core/session-records.js';

export interface LogoutOptions extends CommonOptions {
  all?: boolean;
  force?: boolean;
  /** Keep the account's profile (name, email, claims) for `status`; by default logout deletes it. */
  keepProfile?: boolean;
  /** `--browser` true, the deprecated `--no-browser` false (as `--print-sign-out-url`); unset: `logout_browser`. */
  browser?: boolean;
  /** End the provider session, printing its URL instead of opening a browser. */
  printSignOutUrl?: boolean;
}

export function registerLogout(program: Command, ctx: Context): void {
  const cmd = program
    .command('logout')
    .description('Revoke the tokens at the provider, then delete them locally.')
    .option('--all', 'log out every stored account')
    .option('--force', 'delete the tokens locally even if the provider cannot revoke them')
    .option('--keep-profile', 'keep the account (name, email, claims) listed in `xtalk status` as logged out')
    .option('--browser', "also end the provider's browser session (RP-Initiated Logout) in the browser")
    .option('--print-sign-out-url', "as --browser, but print the provider's sign-out URL instead of opening a browser");
  // The old name of --print-sign-out-url, which read as "no browser step" yet added one: still works, with a notice.
  cmd.addOption(cmd.createOption('--no-browser').hideHelp());
  addCommonOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Nothing is deleted unless every token was revoked (exit 5 says which were not); --force deletes
them anyway. A provider without a revocation endpoint (RFC 7009) cannot revoke them: there
--browser ends its session instead (which ends the tokens at many providers, not provably) and
deletes them here once the provider confirmed the sign-out. \`xtalk doctor\` says what logout can
end at your provider. With the tokens goes the account's profile (name, email, claims), so the next person
at a shared machine does not see who used it; --keep-profile keeps it, listed as logged out.
--all also removes the profiles of accounts logged out earlier (with --keep-profile, or by an
older xtalk).

Revoking the tokens does not sign the browser out of the provider: on a shared machine the next
\`xtalk login\` would silently sign in as you again. --browser then opens the provider's
end_session_endpoint and waits until the provider sends the browser back to 127.0.0.1. With
\`xtalk config set logout_browser always\` (or XTALK_LOGOUT_BROWSER=always) every logout does so;
XTALK_LOGOUT_BROWSER=never turns that off for one run.

Examples:
  $ xtalk logout
  $ xtalk logout --browser        # shared machine: the provider forgets you in the browser too
  $ xtalk logout --print-sign-out-url   # as --browser, but open the printed URL yourself
  $ xtalk logout --account alice@example.com
  $ xtalk logout --all
  $ xtalk logout --keep-profile   # status still lists you, logged out
  $ xtalk logout --force          # the provider is gone for good`,
  );
  cmd.action(async (opts: LogoutOptions) => runLogout(ctx, opts));
}

export async function runLogout(ctx: Context, opts: LogoutOptions): Promise<number> {
  // Read-write at once where there is a store, so a read-only one fails before anything is revoked;
  // with no store nobody is signed in, and none is created.
  const run = openCommandRun(ctx, opts, {}, { writing: 'existing' });
  try {
    const store = run.store();
    const force = Boolean(opts.force);
    const keepProfile = Boolean(opts.keepProfile);
    if (opts.browser === false) run.ui.warn('--no-browser is deprecated for logout: use --print-sign-out-url, which does the same.');
    const print = Boolean(opts.printSignOutUrl) || opts.browser === false;
    const endSession = print || opts.browser !== undefined || run.config().logoutBrowser === 'always';
    const launch = !print;
    const asked = {
      ...(endSession ? { browser: print ? ('print' as const) : opts.browser === undefined ? ('config' as const) : ('open' as const) } : {}),
      ...(opts.all ? { all: true } : {}),
    };
    const report = (r: LogoutResult) =>
      run.ui.success(
        r.deletedAfterSessionEnd > 0
          ? `Logged out ${displayName(r.account)} from ${r.account.issuer}; ${r.deletedAfterSessionEnd} token${r.deletedAfterSessionEnd === 1 ? '' : 's'} deleted after the sign-out there`
          : `Logged out ${displayName(r.account)} from ${r.account.issuer}; ${r.revoked} token${r.revoked === 1 ? '' : 's'} revoked`,
      );
    // Issuers whose browser session this run ended already (in place of revocation, for one account).
    const ended = new Set<string>();
    const logout = async (account: AccountRecord) => {
      // Read before the local logout deletes it (and perhaps the data key).
      const idTokenHint = endSession ? await readIdToken(run, account) : undefined;
      const endInstead = async () => {
        if (ended.has(account.issuer)) return true;
        const done = await endBrowserSession(run, account, idTokenHint, launch, false);
        if (done) ended.add(account.issuer);
        return done;
      };
      const result = await logoutAccount(run, { account, force, keepProfile, asked, ...(endSession ? { endSession: endInstead } : {}) });
      report(result);
      return { idTokenHint, revoked: result.failures.length === 0 && result.deletedAfterSessionEnd === 0 };
    };
    if (!opts.all) {
      const account = selectedOrNobody(store, opts.account);
      if (!account) {
        // Nothing to do is done (as with --all): a cleanup script's `xtalk logout` need not fail.
        run.ui.info('No account is signed in.');
        return ExitCode.Ok;
      }
      const { idTokenHint, revoked } = await logout(account);
      if (endSession && !ended.has(account.issuer)) await endBrowserSession(run, account, idTokenHint, launch, revoked);
      return ExitCode.Ok;
    }
    const listed = store.listAccounts();
    const accounts = listed.filter((a) => store.hasSession(a.id));
    // Profiles without tokens have nothing to revoke: they go whatever happens to the others (and
    // with none, nothing is written).
    const forgotten = keepProfile || accounts.length === listed.length ? 0 : store.deleteProfilesWithoutSession();
    if (forgotten > 0) run.ui.info(`Removed ${forgotten} logged-out account${forgotten === 1 ? '' : 's'} from the store.`);
    if (accounts.length === 0) {
      if (forgotten === 0) run.ui.info('No account is signed in.');
      return ExitCode.Ok;
    }
    const failed: string[] = [];
    const reasons: XtalkError[] = [];
    // One browser session per provider: ended once, with the hint of its last account.
    const hints = new Map<string, { account: AccountRecord; hint: string | undefined; revoked: boolean }>();
    for (const account of accounts) {
      try {
        const { idTokenHint, revoked } = await logout(account);
        hints.set(account.issuer, { account, hint: idTokenHint, revoked });
      } catch (e) {
        if (!(e instanceof XtalkError)) throw e;
        run.ui.error(e.message);
        failed.push(displayName(account));
        reasons.push(e);
      }
    }
    if (failed.length > 0) {
      throw new RevocationFailedError(
        'REVOCATION_FAILED',
        `${failed.length} of ${accounts.length} accounts are still logged in: ${failed.join(', ')}.`,
        { facts: { ...sharedReason(reasons), ...asked } },
      );
    }
    if (!endSession) return ExitCode.Ok;
    for (const { account, hint, revoked } of hints.values()) {
      if (!ended.has(account.issuer)) await endBrowserSession(run, account, hint, launch, revoked);
    }
    return ExitCode.Ok;
  } finally {
    closeChangingRun(ctx, run);
  }
}

/** The account to log out; undefined when nobody is signed in at all (no --account, no session). */
function selectedOrNobody(store: Parameters<typeof selectAccount>[0], selector: string | undefined): AccountRecord | undefined {
  try {
    return selectAccount(store, selector);
  } catch (e) {
    if (selector === undefined && e instanceof NotLoggedInError && e.facts.reason === undefined) return undefined;
    throw e;
  }
}

/** The reason every failed account shares (e.g. all at one provider without revocation), for the hint. */
function sharedReason(errors: XtalkError[]): FactsOf<'REVOCATION_FAILED'> {
  const facts = errors.map((e) => (e.code === 'REVOCATION_FAILED' ? (e.facts as FactsOf<'REVOCATION_FAILED'>) : {}));
  const [first] = facts;
  // A refused endpoint's hint is its cause's, which the summary does not carry.
  const same =
    first?.reason &&
    first.reason !== 'endpoint_refused' &&
    facts.every((f) => f.reason === first.reason && f.endSession === first.endSession);
  return same ? { reason: first.reason, ...(first.endSession !== undefined ? { endSession: first.endSession } : {}) } : {};
}

/** True when the provider confirmed the sign-out. */
async function endBrowserSession(
  run: Run,
  account: AccountRecord,
  idTokenHint: string | undefined,
  launch: boolean,
  tokensRevoked: boolean,
): Promise<boolean> {
  const outcome = await endProviderSession(run, { account, idTokenHint, launch, tokensRevoked });
  if (outcome === 'ended') run.ui.success(`Signed out of ${account.issuer} in the browser${tokensRevoked ? ' too' : ''}`);
  return outcome === 'ended';
}

async function readIdToken(run: Run, account: AccountRecord): Promise<string | undefined> {
  try {
    return await run.store().idToken(account.id);
  } catch (e) {
    if (!(e instanceof XtalkError)) throw e;
    // Without the hint the provider may ask which session to end; the logout itself goes on.
    run.ui.debug(`cannot read the stored ID token: ${e.message}`);
    return undefined;
  }
}
