import type { Context } from '../context.js';
import { runToken, type TokenOptions } from '../commands/token.js';
import { reportError } from './report.js';

/**
 * `xtalk token` is called in loops and from every script, so its common forms skip loading
 * commander and the other commands. Any other argument (including --help) returns undefined and
 * goes through the full program, which accepts exactly the same forms.
 */
export function parseFastTokenArgs(argv: readonly string[]): TokenOptions | undefined {
  if (argv[0] !== 'token') return undefined;
  const opts: TokenOptions = {};
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--json' && inline === undefined) opts.json = true;
    else if (name === '--debug' && inline === undefined) opts.debug = true;
    else if (name === '--min-ttl' || name === '--account' || name === '--format') {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('-'))) return undefined;
      if (name === '--min-ttl') opts.minTtl = value;
      else if (name === '--format') opts.format = value;
      else opts.account = value;
    } else return undefined;
  }
  return opts;
}

/** Runs the fast form of `xtalk token`; same behaviour and output as through commander. */
export async function runFastToken(opts: TokenOptions, ctx: Context): Promise<number> {
  try {
    await runToken(ctx, opts);
    return 0;
  } catch (e) {
    return reportError(e, ctx, Boolean(opts.debug));
  }
}
