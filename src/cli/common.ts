import type { Command } from 'commander';
import type { Context } from '../context.js';
import { resolveConfig, type ConfigFlags, type ResolvedConfig } from '../config/resolve.js';
import { createUi, type Ui } from '../output/ui.js';
import type { AccountStore } from '../store/index.js';

/** Options every command understands. */
export interface CommonOptions {
  debug?: boolean;
  account?: string;
}

/** Adds `--account` and `--debug` (and `--json` when the command has data for stdout). */
export function addCommonOptions(cmd: Command, opts: { json?: boolean } = {}): Command {
  cmd.option('--account <username|email|sub>', 'act on this stored account instead of the current one');
  if (opts.json) cmd.option('--json', 'print a JSON document on stdout');
  cmd.option('--debug', 'print diagnostics on stderr (secrets redacted)');
  return cmd;
}

/** Per-run services a command needs: configuration, output, and the store opened on first use. */
export interface CommandEnv {
  config: ResolvedConfig;
  ui: Ui;
  store(): AccountStore;
  close(): void;
}

export function createCommandEnv(ctx: Context, opts: CommonOptions, flags: ConfigFlags = {}): CommandEnv {
  const secrets: string[] = [];
  const ui = createUi(ctx.io, ctx.env, { debug: opts.debug, secrets: () => secrets });
  const config = resolveConfig({ flags, env: ctx.env, cwd: ctx.cwd, platform: ctx.platform });
  if (config.clientSecret) secrets.push(config.clientSecret);
  ui.debug(`config: ${describeSources(config)}`);
  let store: AccountStore | undefined;
  return {
    config,
    ui,
    store: () => (store ??= ctx.openStore({ paths: config.paths, mode: config.credentialStore, warn: (m) => ui.warn(m) })),
    close: () => store?.close(),
  };
}

function describeSources(config: ResolvedConfig): string {
  const parts = Object.entries(config.sources).map(([k, v]) => `${k} from ${v}`);
  return `${parts.join(', ')}; data in ${config.paths.dataDir}`;
}

/**
 * The stderr line `login`, `logout` and `doctor` print when settings come from `./.env`: a cloned
 * repository's file can choose the provider, so nobody should sign in there without seeing it.
 */
export function dotenvNotice(config: Pick<ResolvedConfig, 'dotenv'>): string | undefined {
  if (!config.dotenv) return undefined;
  return `Using ${config.dotenv.names.join(', ')} from ${config.dotenv.path} (a .env file in the current folder).`;
}
