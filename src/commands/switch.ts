import type { Command } from 'commander';
import { displayName } from '../auth/account-view.js';
import { selectAccount } from '../auth/select-account.js';
import { addCommonOptions, openCommandRun, type CommonOptions, closeChangingRun } from './command-env.js';
import type { Context } from '../core/context.js';
import { ExitCode, UsageError } from '../errors.js';

export type SwitchOptions = CommonOptions;

export function registerSwitch(program: Command, ctx: Context): void {
  const cmd = program
    .command('switch')
    .description('Make another stored account the current one.')
    .argument('[account]', 'username, email or sub of a stored account (see `xtalk status`); or use --account');
  addCommonOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ xtalk switch alice
  $ xtalk switch alice@example.com
  $ xtalk switch 5f1c…                 # by sub, when two accounts share a username`,
  );
  cmd.action(async (account: string | undefined, opts: SwitchOptions) => runSwitch(ctx, account, opts));
}

export async function runSwitch(ctx: Context, positional: string | undefined, opts: SwitchOptions): Promise<number> {
  if (positional && opts.account && positional !== opts.account) {
    throw new UsageError('USAGE', `Two different accounts given: "${positional}" and --account "${opts.account}".`, {
      facts: { reason: 'account_twice' },
    });
  }
  const selector = positional ?? opts.account;
  if (!selector)
    throw new UsageError('USAGE', 'Which account? Name it: xtalk switch <username|email|sub>.', { facts: { reason: 'no_account_named' } });
  const run = openCommandRun(ctx, opts);
  try {
    const store = run.store();
    const account = selectAccount(store, selector);
    store.setCurrent(account.id);
    run.ui.success(`Switched to ${displayName(account)} at ${account.issuer}.`);
    return ExitCode.Ok;
  } finally {
    closeChangingRun(ctx, run);
  }
}
