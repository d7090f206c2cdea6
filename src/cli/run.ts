import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { buildProgram, type RunOutcome } from './program.js';
import { reportError } from './report.js';

/** Runs one command line through commander and returns the exit code. */
export async function run(argv: string[], ctx: Context): Promise<number> {
  const outcome: RunOutcome = { exitCode: ExitCode.Ok };
  const program = buildProgram(ctx, outcome);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return outcome.exitCode;
  } catch (e) {
    return reportError(e, ctx, argv.includes('--debug'));
  }
}
