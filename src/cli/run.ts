import { CommanderError } from 'commander';
import type { Context } from '../context.js';
import { ExitCode, isXtalkError } from '../errors.js';
import { createUi } from '../output/ui.js';
import { redact } from '../output/redact.js';
import { buildProgram } from './program.js';

/** Runs one command line and returns the exit code; the one place errors are printed. */
export async function run(argv: string[], ctx: Context): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.Ok;
  } catch (e) {
    return report(e, ctx, argv.includes('--debug'));
  }
}

function report(e: unknown, ctx: Context, debug: boolean): number {
  if (e instanceof CommanderError) {
    // commander already printed the message (or the help / version text).
    if (e.exitCode === 0) return ExitCode.Ok;
    ctx.io.stderr.write('Run `xtalk --help` for usage.\n');
    return ExitCode.Usage;
  }
  const ui = createUi(ctx.io, ctx.env);
  if (isXtalkError(e)) {
    ui.error(redact(e.message), e.hint);
    if (debug && e.cause instanceof Error) ctx.io.stderr.write(redact(`cause: ${e.cause.stack ?? e.cause.message}`) + '\n');
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  ui.error(`Unexpected error: ${redact(err.message)}`, 'This is a bug in xtalk; please report it with the output of the same command run with --debug.');
  if (debug) ctx.io.stderr.write(redact(err.stack ?? '') + '\n');
  return ExitCode.Error;
}
