import type { Context } from '../core/context.js';
import { buildProgram } from './program.js';
import { reportError } from './report.js';

/** Runs one command line through commander and returns the exit code. */
export async function run(argv: string[], ctx: Context): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return program.actionExitCode;
  } catch (e) {
    return reportError(e, ctx, argv.includes('--debug'));
  }
}
