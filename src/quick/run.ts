import type { Context } from '../core/context.js';
import { runToken } from '../commands/token.js';
import { runWhoami } from '../commands/whoami.js';
import type { QuickCommand } from './parse-args.js';

/** Runs a quick form; same behaviour, output and exit code as through commander (errors are thrown). */
export function runQuickCommand(quick: QuickCommand, ctx: Context): Promise<number> {
  return quick.command === 'token' ? runToken(ctx, quick.opts) : runWhoami(ctx, quick.opts);
}
