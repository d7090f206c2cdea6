import { Command, type ErrorOptions, Option } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import type { Context } from '../core/context.js';
import { ExitCode, UsageError } from '../errors.js';
import { installNote } from './install-note.js';
import { createUi } from '../output/ui.js';
import { registerApi } from '../commands/api.js';
import { registerCompletion } from '../commands/completion.js';
import { registerConfig } from '../commands/config.js';
import { registerDoctor } from '../commands/doctor.js';
import { registerExec } from '../commands/exec.js';
import { registerHelp } from '../commands/help.js';
import { registerLogin } from '../commands/login.js';
import { registerLogout } from '../commands/logout.js';
import { registerRefresh } from '../commands/refresh.js';
import { registerStatus } from '../commands/status.js';
import { registerSwitch } from '../commands/switch.js';
import { registerToken } from '../commands/token.js';
import { registerWhoami } from '../commands/whoami.js';

/** From package.json (inlined by the bundler), so `xtalk --version` never disagrees with npm. */
export const VERSION: string = pkg.version;

/**
 * Commander drops what an action returns; xtalk's actions return their command's exit code (each
 * `runX` in src/commands resolves to it, or throws an XtalkError that carries one). This subclass,
 * inherited by every sub-command through createCommand, keeps it on the root for run() to return.
 */
export class XtalkProgram extends Command {
  /** The exit code the last action returned (0 when it returned nothing). */
  actionExitCode: number = ExitCode.Ok;

  override createCommand(name?: string): XtalkProgram {
    return new XtalkProgram(name);
  }

  // biome-ignore lint/suspicious/noExplicitAny: commander's own signature, which this override must match
  override action(fn: (this: this, ...args: any[]) => unknown): this {
    return super.action(async (...args: unknown[]) => {
      const code = await fn.apply(this, args);
      let root: Command = this;
      while (root.parent) root = root.parent;
      if (typeof code === 'number') (root as XtalkProgram).actionExitCode = code;
    });
  }

  /**
   * Where commander reports a command line it refuses (an unknown option or command, a missing or
   * extra argument, an option without its value, a value not among the choices): thrown as a
   * UsageError instead of printed, so it reads like every expected failure (one ✗ line, a hint with
   * the closest word commander found and this command's help; exit 2). The quick path hands every
   * line it does not take to this program, so it refuses with the same words.
   */
  override error(message: string, _options?: ErrorOptions): never {
    const [first = '', ...rest] = message.split('\n');
    const suggestion = /^\(Did you mean (.+)\?\)$/.exec(rest.join(' ').trim())?.[1];
    throw new UsageError('USAGE', first.replace(/^error: /, ''), {
      facts: { reason: 'command_line', command: commandPath(this), suggestion },
    });
  }
}

/** `config get` for that sub-command, undefined for the program itself. */
function commandPath(cmd: Command): string | undefined {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.length > 0 ? names.join(' ') : undefined;
}

/** A fresh commander program per run, writing through the context's streams and never exiting. */
export function buildProgram(ctx: Context): XtalkProgram {
  const ui = createUi(ctx.io, ctx.env);
  const program = new XtalkProgram('xtalk')
    .description('Sign in to the IoTtalk Account Subsystem and use the session from a terminal and scripts.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    // Options after a sub-command belong to it: `xtalk exec -- cmd --json` passes --json to cmd.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // commander's help and usage errors quote the command line: through the terminal owner too.
      writeOut: (s) => ui.data(s),
      writeErr: (s) => ui.info(s.replace(/\n$/, '')),
    })
    .addHelpText(
      'after',
      `
Examples:
  $ xtalk login                                   # sign in through the browser
  $ curl -H "Authorization: Bearer $(xtalk token)" https://iottalk.example/api
  $ xtalk whoami --json | jq -r .sub

Exit codes: 0 ok, 1 error, 2 usage, 4 login required, 5 logout could not revoke, 130 interrupted.`,
    )
    .addHelpText('after', () => installNote(pkg.name));
  program.addOption(new Option('--no-color', 'disable colors (same as NO_COLOR=1)').hideHelp());
  registerLogin(program, ctx);
  registerWhoami(program, ctx);
  registerToken(program, ctx);
  registerRefresh(program, ctx);
  registerStatus(program, ctx);
  registerSwitch(program, ctx);
  registerLogout(program, ctx);
  registerExec(program, ctx);
  registerApi(program, ctx);
  registerDoctor(program, ctx);
  registerConfig(program, ctx);
  registerCompletion(program, ctx);
  registerHelp(program, ctx);
  return program;
}
