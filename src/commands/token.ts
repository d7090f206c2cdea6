import type { Command } from 'commander';
import { toTokenJson } from '../auth/account-view.js';
import { getFreshToken } from '../auth/refresh/fresh-token.js';
import { defaultMarginMs } from '../auth/refresh/min-ttl.js';
import { selectAccount } from '../auth/select-account.js';
import { openCommandRun, parseMinTtl } from './command-env.js';
import { addOptions, COMMON_OPTIONS, type OptionsOf, type OptionTable } from './options.js';
import type { Context } from '../core/context.js';
import { ExitCode, UsageError } from '../errors.js';

/**
 * The options of `xtalk token`, for commander and the quick path alike (see ./options.ts). The
 * values are taken as typed and validated in runToken, so both ways in say the same of a bad one.
 */
export const TOKEN_OPTIONS = {
  minTtl: {
    flag: '--min-ttl',
    value: 'seconds',
    description: 'refresh when the token expires within this many seconds (default 60, at most half its lifetime)',
  },
  format: {
    flag: '--format',
    value: 'format',
    description: 'raw (the token), header (an Authorization header line) or json',
    default: 'raw',
  },
  // --json is an alias of --format json.
  ...COMMON_OPTIONS,
} as const satisfies OptionTable;

export type TokenOptions = OptionsOf<typeof TOKEN_OPTIONS>;

const FORMATS = ['raw', 'header', 'json'] as const;

export function registerToken(program: Command, ctx: Context): void {
  const cmd = addOptions(
    program.command('token').description('Print a valid access token (refreshed first when it expires soon).'),
    TOKEN_OPTIONS,
  );
  cmd.addHelpText(
    'after',
    `
Only the token and a newline go to stdout, so it can be captured:
  $ curl -H "Authorization: Bearer $(xtalk token)" https://iottalk.example/api/devices
  $ xtalk token --format header | curl -H @- https://iottalk.example/api/devices
  $ xtalk token --min-ttl 300          # a token valid for at least 5 more minutes
  $ xtalk token --json | jq -r .expires_at    # same as --format json`,
  );
  cmd.action(async (opts: TokenOptions) => runToken(ctx, opts));
}

export async function runToken(ctx: Context, opts: TokenOptions): Promise<number> {
  const run = openCommandRun(ctx, opts);
  let token;
  let copy;
  try {
    // Before the store is read: a copy made from this read is checked against the store as it was.
    const config = run.config();
    copy = ctx.tokenCopy?.begin(config.paths, config.keyCacheSeconds);
    await run.readKeyEarly();
    const store = run.store();
    const minTtlSeconds = parseMinTtl(opts.minTtl, 'token');
    const format = tokenFormat(opts);
    const account = selectAccount(store, opts.account);
    token = await getFreshToken(run, { account, minTtlSeconds });
    if (format === 'json') run.ui.json(toTokenJson(token));
    else if (format === 'header') run.ui.data(`Authorization: ${token.tokenType} ${token.accessToken}\n`);
    else run.ui.data(token.accessToken + '\n');
  } finally {
    run.close();
  }
  // For the native launcher's next `xtalk token` (src/launcher/): kept until the refresh margin.
  copy?.fill(opts.account, token, token.expiresAt - defaultMarginMs(token));
  return ExitCode.Ok;
}

function tokenFormat(opts: TokenOptions): (typeof FORMATS)[number] {
  const format = opts.format ?? 'raw';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError('USAGE', `Unknown --format "${format}".`, { facts: { reason: 'unknown_format', choices: FORMATS.join(', ') } });
  }
  if (opts.json && format !== 'json' && format !== 'raw')
    throw new UsageError('USAGE', `--json contradicts --format ${format}.`, { facts: { reason: 'json_and_format' } });
  return opts.json ? 'json' : (format as (typeof FORMATS)[number]);
}
