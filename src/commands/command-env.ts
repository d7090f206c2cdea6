import type { Command } from 'commander';
import type { Context, StoreWriting } from '../core/context.js';
import type { ConfigFlags, ResolvedConfig } from '../config/resolve.js';
import { openRun, type Run } from '../auth/run.js';
import { dotenvNotice } from '../config/dotenv-notice.js';
import { createUi } from '../output/ui.js';
import { UsageError } from '../errors.js';
import { addOptions, COMMON_OPTIONS } from './options.js';

declare module 'commander' {
  interface Command {
    /**
     * xtalk's actions resolve to their command's exit code: each `runX` returns it (or throws an
     * XtalkError, which carries one). src/cli/program.ts keeps what commander itself would drop.
     */
    // biome-ignore lint/suspicious/noExplicitAny: commander's own signature, which this overload must match
    action(fn: (this: this, ...args: any[]) => Promise<number>): this;
  }
}

/** Options every command understands. */
export interface CommonOptions {
  debug?: boolean;
  account?: string;
}

/** Adds `--account` and `--debug` (and `--json` when the command has data for stdout). */
export function addCommonOptions(cmd: Command, opts: { json?: boolean } = {}): Command {
  const { account, json, debug } = COMMON_OPTIONS;
  return addOptions(cmd, opts.json ? { account, json, debug } : { account, debug });
}

/**
 * The run of a command (src/auth/run.ts), built as the CLI builds it: output through the terminal
 * (secrets redacted, `--debug`), the configuration from `flags` resolved at once (so a bad one fails
 * first), where it came from on the debug line, and the `.env` notice.
 * `how.writing`: the command writes whatever happens, so its store opens read-write (see StoreRequest).
 * `how.quiet`: no `.env` notice (shell completion, whose stderr lands in the user's prompt).
 */
export function openCommandRun(
  ctx: Context,
  opts: CommonOptions,
  flags: ConfigFlags = {},
  how: { writing?: StoreWriting; quiet?: boolean } = {},
): Run {
  const secrets: string[] = [];
  const ui = createUi(ctx.io, ctx.env, { debug: opts.debug, secrets: () => secrets });
  const run = openRun(ctx, { ui, flags, warn: (m) => ui.warn(m), notice: (m) => ui.info(m), writing: how.writing });
  const config = run.config();
  if (config.clientSecret) secrets.push(config.clientSecret);
  ui.debug(`config: ${describeSources(config)}`);
  const notice = how.quiet ? undefined : dotenvNotice(config);
  if (notice) ui.info(notice);
  return run;
}

function describeSources(config: ResolvedConfig): string {
  const parts = Object.entries(config.sources).map(([k, v]) => `${k} from ${v}`);
  return `${parts.join(', ')}; data in ${config.paths.dataDir}`;
}

/**
 * The end of a run that changes a session (login, switch, logout, refresh): the store closed, then
 * the native launcher's copies of its access tokens removed, so its next `xtalk token` asks Node.
 */
export function closeChangingRun(ctx: Pick<Context, 'tokenCopy'>, run: Pick<Run, 'close' | 'paths'>): void {
  run.close();
  ctx.tokenCopy?.forget(run.paths());
}

/** `--min-ttl` of `token` and `exec`: whole or decimal seconds, nothing else (not even ""). */
export function parseMinTtl(value: string | undefined, command: 'token' | 'exec'): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value.trim())) {
    throw new UsageError('USAGE', `--min-ttl expects a number of seconds, got "${value}".`, { facts: { reason: 'min_ttl', command } });
  }
  return Number(value);
}
