import type { Context } from '../core/context.js';
import { runFastCommand, type FastCommand } from '../commands/fast-path.js';
import { reportError } from './report.js';

/**
 * Runs a fast form (see src/commands/fast-path.ts) without commander; a failure is reported as
 * through the full program.
 */
export async function runFast(fast: FastCommand, ctx: Context): Promise<number> {
  try {
    return await runFastCommand(fast, ctx);
  } catch (e) {
    return reportError(e, ctx, Boolean(fast.opts.debug));
  }
}
