import type { Command } from 'commander';
import { toTokenJson } from '../auth/account-view.js';
import { getFreshToken } from '../auth/fresh-token.js';
import { selectAccount } from '../auth/select-account.js';
import { addCommonOptions, createCommandEnv, type CommonOptions } from '../cli/common.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';

export interface TokenOptions extends CommonOptions {
  json?: boolean;
  /** Seconds, as typed; validated in runToken so the fast path and commander agree. */
  minTtl?: string;
}

export function registerToken(program: Command, ctx: Context, runner = runToken): void {
  const cmd = program
    .command('token')
    .description('Print a valid access token (refreshed first when it expires soon).')
    .option('--min-ttl <seconds>', 'refresh when the token expires within this many seconds (default 60, at most half its lifetime)');
  addCommonOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
Only the token and a newline go to stdout, so it can be captured:
  $ curl -H "Authorization: Bearer $(xtalk token)" https://iottalk.example/api/devices
  $ xtalk token --min-ttl 300          # a token valid for at least 5 more minutes
  $ xtalk token --json | jq -r .expires_at`,
  );
  cmd.action(async (opts: TokenOptions) => runner(ctx, opts));
}

export async function runToken(ctx: Context, opts: TokenOptions): Promise<void> {
  const env = createCommandEnv(ctx, opts);
  try {
    const store = env.store();
    const minTtlSeconds = opts.minTtl === undefined ? undefined : parseSeconds(opts.minTtl, '--min-ttl');
    const account = selectAccount(store, opts.account);
    const token = await getFreshToken({ ctx, ui: env.ui, store, config: env.config }, account, { minTtlSeconds });
    if (opts.json) env.ui.json(toTokenJson(token));
    else env.ui.data(token.accessToken + '\n');
  } finally {
    env.close();
  }
}

function parseSeconds(value: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new UsageError(`${flag} expects a number of seconds, got "${value}".`, `For example: xtalk token ${flag} 300`);
  return Number(value);
}
