import type { Context } from '../core/context.js';
import { runToken, type TokenOptions } from './token.js';
import { runWhoami, type WhoamiOptions } from './whoami.js';

/** A command line the fast path runs itself. */
export type FastCommand = { command: 'token'; opts: TokenOptions } | { command: 'whoami'; opts: WhoamiOptions };

/**
 * `xtalk token` is called in loops and from every script (and `xtalk whoami` nearly as often), so
 * their common forms skip loading commander and the other commands; this table lives beside the
 * commands whose options it must agree with, and src/main.ts dispatches on it. Any other argument (including
 * --help) returns undefined and goes through the full program, which accepts exactly the same forms.
 */
export function parseFastArgs(argv: readonly string[]): FastCommand | undefined {
  if (argv[0] === 'token') {
    const opts = parseFastTokenArgs(argv);
    return opts && { command: 'token', opts };
  }
  if (argv[0] === 'whoami') {
    const opts: WhoamiOptions = {};
    for (let i = 1; i < argv.length; i++) {
      const [name, inline] = splitOption(argv[i]!);
      if (name === '--json' && inline === undefined) opts.json = true;
      else if (name === '--debug' && inline === undefined) opts.debug = true;
      else if (name === '--verify' && inline === undefined) opts.verify = true;
      else if (name === '--account') {
        const value = inline ?? argv[++i];
        if (value === undefined || (inline === undefined && value.startsWith('-'))) return undefined;
        opts.account = value;
      } else return undefined;
    }
    return { command: 'whoami', opts };
  }
  return undefined;
}

function splitOption(arg: string): [string, string | undefined] {
  return arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
}

/** The fast forms of `xtalk token` (see {@link parseFastArgs}). */
export function parseFastTokenArgs(argv: readonly string[]): TokenOptions | undefined {
  if (argv[0] !== 'token') return undefined;
  const opts: TokenOptions = {};
  for (let i = 1; i < argv.length; i++) {
    const [name, inline] = splitOption(argv[i]!);
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

/** Runs a fast form; same behaviour, output and exit code as through commander (errors are thrown). */
export function runFastCommand(fast: FastCommand, ctx: Context): Promise<number> {
  return fast.command === 'token' ? runToken(ctx, fast.opts) : runWhoami(ctx, fast.opts);
}
