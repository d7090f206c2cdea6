import { constants } from 'node:os';
import type { Command } from 'commander';
import { getFreshToken } from '../auth/refresh/fresh-token.js';
import { selectAccount } from '../auth/select-account.js';
import { withoutXtalkSecrets } from '../browser/child-env.js';
import { addCommonOptions, openCommandRun, parseMinTtl, type CommonOptions } from './command-env.js';
import type { Context } from '../core/context.js';
import { UsageError, XtalkError } from '../errors.js';

export interface ExecOptions extends CommonOptions {
  env: string;
  minTtl?: string;
}

export function registerExec(program: Command, ctx: Context): void {
  const cmd = program
    .command('exec')
    .description('Run a command with a fresh access token in its environment (never in its argv).')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--env <name>', 'environment variable that receives the token', 'XTALK_ACCESS_TOKEN')
    .option('--min-ttl <seconds>', 'make sure the token stays valid at least this long (default 60)')
    .passThroughOptions();
  addCommonOptions(cmd);
  cmd.addHelpText(
    'after',
    `
The command's exit code (and a signal that ends it, as 128+N) becomes xtalk's.

Examples:
  $ xtalk exec -- sh -c 'curl -H "Authorization: Bearer $XTALK_ACCESS_TOKEN" https://iottalk.example/api'
  $ xtalk exec --env IOTTALK_TOKEN -- python3 upload.py
  $ xtalk exec --min-ttl 900 -- ./long-running-job.sh`,
  );
  cmd.action((command: string[], opts: ExecOptions) => runExec(ctx, command, opts));
}

/**
 * Runs `command` with the token in `opts.env` and without xtalk's own secrets (the client secret, a
 * parent's token); resolves to its exit code (128+N for signal N).
 */
export async function runExec(ctx: Context, command: string[], opts: ExecOptions): Promise<number> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.env)) throw new UsageError('USAGE', `"${opts.env}" is not a valid environment variable name.`);
  const run = openCommandRun(ctx, opts);
  let token: string;
  try {
    const store = run.store();
    const account = selectAccount(store, opts.account);
    const minTtlSeconds = parseMinTtl(opts.minTtl, 'exec');
    token = (await getFreshToken(run, { account, minTtlSeconds })).accessToken;
  } finally {
    run.close();
  }
  const [file, ...args] = command;
  run.ui.debug(`running ${file} with the token in $${opts.env}`);
  // The command is the user's program, not xtalk: it gets the token and none of xtalk's other secrets.
  const child = ctx.launch(file!, args, { ...withoutXtalkSecrets(ctx.env), [opts.env]: token });
  // Ctrl-C reaches the child from the terminal too; a signal sent to xtalk alone is passed on.
  const forward = () => child.kill(typeof ctx.signal.reason === 'string' ? (ctx.signal.reason as NodeJS.Signals) : 'SIGTERM');
  ctx.signal.addEventListener('abort', forward, { once: true });
  try {
    const { code, signal } = await child.exited;
    return code ?? 128 + (signal ? constants.signals[signal] : 0);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new XtalkError(
      err.code === 'ENOENT' ? 'COMMAND_NOT_FOUND' : 'CANNOT_EXECUTE',
      `Cannot run ${file}: ${err.code === 'ENOENT' ? 'command not found' : err.message}.`,
    );
  } finally {
    ctx.signal.removeEventListener('abort', forward);
  }
}
