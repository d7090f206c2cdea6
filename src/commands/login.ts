import { Option, type Command } from 'commander';
import { displayName, toAccountJson } from '../auth/account-view.js';
import { signIn } from '../auth/sign-in/sign-in.js';
import { addCommonOptions, openCommandRun, type CommonOptions, closeChangingRun } from './command-env.js';
import { requireClientConfig, type ConfigFlags } from '../config/resolve.js';
import type { Context } from '../core/context.js';
import { ExitCode, UsageError } from '../errors.js';
import type { AccountRecord } from '../core/session-records.js';
import type { LoginPrompt } from '../core/provider-records.js';
import type { Accounts } from '../core/ports.js';

export interface LoginOptions extends CommonOptions, ConfigFlags {
  json?: boolean;
  /** commander's negated flag: `--no-browser` sets it to false. */
  browser?: boolean;
  manual?: boolean;
  device?: boolean;
  prompt?: LoginPrompt;
  fresh?: boolean;
}

export function registerLogin(program: Command, ctx: Context): void {
  const cmd = program
    .command('login')
    .description('Sign in and store the session (it becomes the current account).')
    .option('--issuer <url>', 'OpenID provider (issuer) URL')
    .option('--client-id <id>', 'OAuth client id')
    .option('--scope <scopes>', 'space-separated scopes (default: openid profile email offline_access)')
    .option('--port <port>', 'loopback port for the redirect (default 0: any free port)')
    .option('--timeout <seconds>', 'how long to wait for the sign-in (default 300)')
    .option('--no-browser', 'print the URL instead of opening a browser; the listener still waits for the redirect')
    .option('--manual', 'for a browser on another machine: paste the address it is redirected to (read from stdin)')
    .option('--device', 'use the device flow (RFC 8628): enter a code on any device')
    .addOption(
      new Option('--prompt <prompt>', 'make the provider ask: login (credentials), select_account, consent').choices([
        'login',
        'select_account',
        'consent',
      ]),
    )
    .option(
      '--fresh',
      'make the provider ask for credentials even if the browser is signed in (prompt=login, max_age=0, auth_time checked)',
    );
  addCommonOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
Without --no-browser, --manual or --device, xtalk picks by itself: the browser when one can be shown
(a display, BROWSER, macOS, Windows, WSL with wslview or powershell.exe); otherwise (SSH, no display)
the device flow when the provider offers it, else the printed URL. It says on stderr what it chose.

The client secret is never taken from argv: set XTALK_CLIENT_SECRET, \`xtalk config set client_secret\`,
or OAUTH2_CLIENT_SECRET in an X-Talk .env.
--account is passed to the provider as a login hint.

On a shared machine the browser may still be signed in at the provider as someone else, who would
then be signed in without a question: --fresh makes the provider ask for credentials and refuses a
sign-in that is not new (its auth_time older than this login). When the person who signs in is not
the current account, xtalk says so; the other account stays stored (\`xtalk switch\` goes back).

Examples:
  $ XTALK_ISSUER=https://account.iottalk.tw XTALK_CLIENT_ID=my-client xtalk login
  $ xtalk login --no-browser --port 8765    # then on your computer: ssh -L 8765:127.0.0.1:8765 this-host
  $ xtalk login --manual                    # sign in anywhere, paste the address the browser ends on
  $ xtalk login --device                    # enter the shown code at the provider on any device
  $ xtalk login --fresh                     # shared machine: sign in as yourself, not as the last person
  $ xtalk login --prompt select_account     # let the provider offer its account chooser
  $ xtalk login --json | jq -r .username`,
  );
  cmd.action(async (opts: LoginOptions) => runLogin(ctx, opts));
}

export async function runLogin(ctx: Context, opts: LoginOptions): Promise<number> {
  const run = openCommandRun(ctx, opts, opts, { writing: true });
  try {
    const config = requireClientConfig(run.config());
    if (opts.fresh && opts.prompt && opts.prompt !== 'login') {
      throw new UsageError('USAGE', `--fresh already sends prompt=login; it cannot be combined with --prompt ${opts.prompt}.`);
    }
    // An existing store only: a login that fails before signing in must leave no database behind.
    const before = run.storeExists() ? currentSession(run.store()) : undefined;
    const account = await signIn(run, { ...opts, config, prompt: opts.fresh ? 'login' : opts.prompt, maxAge: opts.fresh ? 0 : undefined });
    const email = account.email ? ` (${account.email})` : '';
    run.ui.success(`Logged in to ${account.issuer} as ${displayName(account)}${email}`);
    if (before && (before.issuer !== account.issuer || before.sub !== account.sub)) {
      run.ui.warn(
        `This is a different account than the one that was current: signed in as ${displayName(account)}${email}, ` +
          `not as ${displayName(before)}${before.email ? ` (${before.email})` : ''}. ${displayName(before)} stays stored; ` +
          `\`xtalk switch ${before.email ?? before.sub}\` goes back to it.`,
      );
    }
    if (opts.json) {
      const store = run.store();
      run.ui.json(toAccountJson(account, store.latestAccessTokenExpiry(account.id), store.credentialStore()));
    }
    return ExitCode.Ok;
  } finally {
    closeChangingRun(ctx, run);
  }
}

/** The current account, when it still holds a session (a logged-out one is not "someone else"). */
function currentSession(store: Accounts): AccountRecord | undefined {
  const current = store.currentAccount();
  return current && store.hasSession(current.id) ? current : undefined;
}
