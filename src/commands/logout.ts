import type { Command } from 'commander';
import { displayName } from '../auth/account-view.js';
import { logoutAccount, type LogoutResult } from '../auth/logout.js';
import { selectAccount } from '../auth/select-account.js';
import { addCommonOptions, createCommandEnv, dotenvNotice, type CommonOptions } from '../cli/common.js';
import type { Context } from '../context.js';
import { RevocationFailedError, XtalkError } from '../errors.js';

export interface LogoutOptions extends CommonOptions {
  all?: boolean;
  force?: boolean;
}

export function registerLogout(program: Command, ctx: Context, runner = runLogout): void {
  const cmd = program
    .command('logout')
    .description('Revoke the tokens at the provider, then delete them locally.')
    .option('--all', 'log out every stored account')
    .option('--force', 'delete the tokens locally even if the provider cannot revoke them');
  addCommonOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Nothing is deleted unless every token was revoked (exit 5 says which were not); --force deletes
them anyway. The account row stays, so \`xtalk login\` as the same person reuses it.

Examples:
  $ xtalk logout
  $ xtalk logout --account alice@example.com
  $ xtalk logout --all
  $ xtalk logout --force          # the provider is gone for good`,
  );
  cmd.action(async (opts: LogoutOptions) => runner(ctx, opts));
}

export async function runLogout(ctx: Context, opts: LogoutOptions): Promise<void> {
  const env = createCommandEnv(ctx, opts);
  try {
    const notice = dotenvNotice(env.config);
    if (notice) env.ui.info(notice);
    const store = env.store();
    const deps = { ctx, ui: env.ui, store, config: env.config };
    const force = Boolean(opts.force);
    const report = (r: LogoutResult) =>
      env.ui.success(`Logged out ${displayName(r.account)} from ${r.account.issuer}; ${r.revoked} token${r.revoked === 1 ? '' : 's'} revoked`);
    if (!opts.all) {
      report(await logoutAccount(deps, selectAccount(store, opts.account), { force }));
      return;
    }
    const accounts = store.listAccounts().filter((a) => store.hasSession(a.id));
    if (accounts.length === 0) {
      env.ui.info('No account is signed in.');
      return;
    }
    const failed: string[] = [];
    for (const account of accounts) {
      try {
        report(await logoutAccount(deps, account, { force }));
      } catch (e) {
        if (!(e instanceof XtalkError)) throw e;
        env.ui.error(e.message);
        failed.push(displayName(account));
      }
    }
    if (failed.length > 0) {
      throw new RevocationFailedError(`${failed.length} of ${accounts.length} accounts are still logged in: ${failed.join(', ')}.`);
    }
  } finally {
    env.close();
  }
}
