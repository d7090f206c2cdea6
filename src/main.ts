import { runFast } from './cli/fast-path.js';
import { parseFastArgs } from './commands/fast-path.js';
import { createSystemContext } from './system-context.js';

/** The only place that touches the process: argv, signals, exit code. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now", even if cleanup hangs.
    if (interrupted) process.exit(130);
    interrupted = true;
    // The reason names the signal, so `xtalk exec` can pass the same one to its child.
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that stops early (`xtalk status | head -1`) closes the pipe: what is left to write is
  // unwanted, so stop quietly, as `cat` does, instead of an unhandled EPIPE with a stack trace.
  const onStreamError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  };
  process.stdout.on('error', onStreamError);
  process.stderr.on('error', onStreamError);
  const argv = process.argv.slice(2);
  const ctx = createSystemContext({ signal: controller.signal });
  const fast = parseFastArgs(argv);
  const code = fast ? await runFast(fast, ctx) : await (await import('./cli/run.js')).run(argv, ctx);
  process.exitCode = code;
  // A detached browser or a lingering keep-alive socket must not keep the CLI alive.
  setTimeout(() => process.exit(code), 200).unref();
}
