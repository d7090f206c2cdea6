import { InvalidArgumentError, type Command } from 'commander';
import { toTokenJson } from '../auth/account-view.js';
import { getFreshToken } from '../auth/fresh-token.js';
import { selectAccount } from '../auth/select-account.js';
import { addCommonOptions, createCommandEnv, type CommonOptions } from '../cli/common.js';
import type { Context } from '../context.js';

export interface TokenOptions extends CommonOptions {
  json?: boolean;
  minTtl?: number;
}

export function registerToken(program: Command, ctx: Context, runner = runToken): void {
  const cmd = program
    .command('token')
    .description('Print a valid access token (refreshed first when it expires soon).')
    .option('--min-ttl <seconds>', 'refresh when the token expires within this many seconds (default 60, at most half its lifetime)', parseSeconds);
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
    const account = selectAccount(store, opts.account);
    const token = await getFreshToken({ ctx, ui: env.ui, store, config: env.config }, account, { minTtlSeconds: opts.minTtl });
    if (opts.json) env.ui.json(toTokenJson(token));
    else env.ui.data(token.accessToken + '\n');
  } finally {
    env.close();
  }
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number of seconds, e.g. 300');
  return n;
}
