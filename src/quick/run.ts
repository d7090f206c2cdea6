import type { Context } from '../core/context.js';
import { runRefresh } from '../commands/refresh.js';
import { runToken } from '../commands/token.js';
import { runWhoami } from '../commands/whoami.js';
import type { QuickCommand } from './parse-args.js';

/** Runs a quick form; same behaviour, output and exit code as through commander (errors are thrown). */
export function runQuickCommand(quick: QuickCommand, ctx: Context): Promise<number> {
  switch (quick.command) {
    case 'token':
      return runToken(ctx, quick.opts);
    case 'whoami':
      return runWhoami(ctx, quick.opts);
    case 'refresh':
      return runRefresh(ctx, quick.opts);
  }
}
