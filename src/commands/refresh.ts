import type { Command } from 'commander';
import { displayName, toTokenJson } from '../auth/account-view.js';
import { getFreshToken } from '../auth/refresh/fresh-token.js';
import { selectAccount } from '../auth/select-account.js';
import { openCommandRun, closeChangingRun } from './command-env.js';
import { addOptions, COMMON_OPTIONS, type OptionsOf, type OptionTable } from './options.js';
import type { Context } from '../core/context.js';
import { ExitCode } from '../errors.js';
import { formatRelative } from '../output/time.js';

/** The options of `xtalk refresh`, for commander and the quick path alike (see ./options.ts). */
export const REFRESH_OPTIONS = {
  account: COMMON_OPTIONS.account,
  json: COMMON_OPTIONS.json,
  debug: COMMON_OPTIONS.debug,
} as const satisfies OptionTable;

export type RefreshOptions = OptionsOf<typeof REFRESH_OPTIONS>;

export function registerRefresh(program: Command, ctx: Context): void {
  const cmd = program.command('refresh').description('Refresh the access token now, even if it is still valid.');
  addOptions(cmd, REFRESH_OPTIONS);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ xtalk refresh
  $ xtalk refresh --json | jq -r .expires_at`,
  );
  cmd.action(async (opts: RefreshOptions) => runRefresh(ctx, opts));
}

export async function runRefresh(ctx: Context, opts: RefreshOptions): Promise<number> {
  const run = openCommandRun(ctx, opts);
  try {
    const store = run.store();
    const account = selectAccount(store, opts.account);
    const token = await getFreshToken(run, { account, force: true });
    if (opts.json) run.ui.json(toTokenJson(token));
    run.ui.success(`Refreshed the access token of ${displayName(account)}; it expires ${formatRelative(token.expiresAt, ctx.now())}.`);
    return ExitCode.Ok;
  } finally {
    closeChangingRun(ctx, run);
  }
}
