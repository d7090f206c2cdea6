import type { Context } from '../core/context.js';
import { ExitCode, isXtalkError } from '../errors.js';
import { redact } from '../output/redact.js';
import { debugFromEnv } from '../output/terminal-env.js';
import { createUi } from '../output/ui.js';
import { classifyEscapedError } from '../store/db/store-errors.js';

/**
 * Prints a failure as one line plus a hint and returns its exit code; the stack only with --debug.
 * The hint is the CLI's: the words src/hints.ts keeps for the error's code and facts (`error.hint`).
 * A SQLite error or a shortage of file descriptors that escaped the store is no bug of ours: it is
 * reported as the typed error it stands for.
 */
export function reportError(thrown: unknown, ctx: Context, debugFlag: boolean): number {
  const debug = debugFlag || debugFromEnv(ctx.env);
  const e = classifyEscapedError(thrown);
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    // Help or the version, already printed (on stderr when no command was named: a usage error).
    // Every refused command line is a UsageError (XtalkProgram.error) and reported below.
    return (e as { exitCode?: number }).exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  const ui = createUi(ctx.io, ctx.env);
  if (isXtalkError(e)) {
    ui.error(redact(e.message), e.hint);
    if (debug) ui.info(`code: ${e.code}`);
    if (debug && e.cause instanceof Error) ui.info(redact(`cause: ${e.cause.stack ?? e.cause.message}`));
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  ui.error(
    `Unexpected error: ${redact(err.message)}`,
    'This is a bug in xtalk; please report it with the output of the same command run with --debug.',
  );
  if (debug) ui.info(redact(err.stack ?? ''));
  return ExitCode.Error;
}
