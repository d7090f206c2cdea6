import type { Command } from 'commander';
import type { CommonOptions } from './command-env.js';
import { addOptions, COMMON_OPTIONS } from './options.js';
import { openRun } from '../auth/run.js';
import { updateConfigFile } from '../config/config-file.js';
import { CONFIG_FILE_KEYS, checkConfigFileValue, readConfigFile } from '../config/resolve.js';
import { SECRET_FILE_KEYS, SETTING_DESCRIPTORS } from '../config/settings.js';
import type { Context } from '../core/context.js';
import { UsageError, XtalkError, type FactsOf } from '../errors.js';
import { readSecret } from '../output/read-secret.js';
import { createUi } from '../output/ui.js';

export interface ConfigOptions extends CommonOptions {
  json?: boolean;
}

/** The four names a `.env` may give, from the settings table. */
const DOTENV_NAMES = SETTING_DESCRIPTORS.flatMap((d) => (d.dotenv === null ? [] : [d.dotenv]));
const isSecret = (key: string) => SECRET_FILE_KEYS.includes(key);

export function registerConfig(program: Command, ctx: Context): void {
  const config = program
    .command('config')
    .description(`Manage config.json (${CONFIG_FILE_KEYS.join(', ')}).`)
    .addHelpText(
      'after',
      `
Flags and XTALK_* variables override this file; a .env in the current folder never does (it may
supply only ${DOTENV_NAMES.slice(0, -1).join(', ')} and
${DOTENV_NAMES.at(-1)}, for settings nothing else gives). \`xtalk help environment\` lists every
setting with its variable, config.json key and default.

Examples:
  $ xtalk config set issuer https://account.iottalk.example
  $ xtalk config set client_id my-client
  $ xtalk config set client_secret            # asks without echo, or reads stdin:
  $ pass show iottalk/secret | xtalk config set client_secret
  $ xtalk config list --json | jq .
  $ xtalk config path`,
    );
  // config.json is the machine's, not an account's: no --account here (it would do nothing).
  const sub = (name: string, description: string) =>
    addOptions(config.command(name).description(description), { debug: COMMON_OPTIONS.debug });

  sub('get', 'print one setting')
    .argument('<key>')
    .action(async (key: string, opts: ConfigOptions) => {
      const { path, env } = open(ctx, opts);
      if (isSecret(key))
        throw new UsageError('USAGE', 'xtalk never prints the client secret.', { facts: { reason: 'secret_not_printed', path } });
      checkKnown(key);
      const value = readConfigFile(path)[key];
      if (value === undefined) {
        // Not in the file: its default, said to be one on stderr (stdout keeps the value alone).
        const shown = SETTING_DESCRIPTORS.find((d) => d.file === key)?.defaultValue ?? null;
        if (shown === null)
          throw new XtalkError('ERROR', `${key} is not set in ${path}.`, { facts: { reason: 'setting_not_set', setting: key } });
        env.ui.info(`${key} is not set in ${path}; this is its default.`);
        env.ui.data(`${String(shown)}\n`);
        return;
      }
      env.ui.data(`${String(value)}\n`);
    });

  sub('set', `store a setting (${SECRET_FILE_KEYS.join(', ')} is read from stdin or a hidden prompt, never from argv)`)
    .argument('<key>')
    .argument('[value]')
    .action(async (key: string, value: string | undefined, opts: ConfigOptions) => {
      const { path, env } = open(ctx, opts);
      let stored: string | number;
      if (isSecret(key)) {
        if (value !== undefined) {
          throw new UsageError('USAGE', 'The client secret is not accepted on the command line (other users can see argv).', {
            facts: { reason: 'secret_in_argv' },
          });
        }
        stored = checkTyped(key, await readSecret(ctx.io, 'Client secret: '));
      } else {
        if (value === undefined) throw new UsageError('USAGE', `Which value? xtalk config set ${key} VALUE`);
        stored = checkTyped(key, value, readConfigFile(path));
      }
      updateConfigFile(path, (c) => ({ ...c, [key]: stored }));
      env.ui.success(`Set ${key} in ${path}`);
    });

  sub('unset', 'remove a setting')
    .argument('<key>')
    .action(async (key: string, opts: ConfigOptions) => {
      const { path, env } = open(ctx, opts);
      checkKnown(key);
      if (!Object.hasOwn(readConfigFile(path), key)) {
        env.ui.info(`${key} was not set in ${path}; nothing to remove.`);
        return;
      }
      updateConfigFile(path, (c) => Object.fromEntries(Object.entries(c).filter(([k]) => k !== key)));
      env.ui.success(`Removed ${key} from ${path}`);
    });

  addOptions(config.command('list').description('print every setting in the file (the secret masked)'), {
    json: COMMON_OPTIONS.json,
    debug: COMMON_OPTIONS.debug,
  }).action(async (opts: ConfigOptions) => {
    const { path, env } = open(ctx, opts);
    const shown = Object.fromEntries(Object.entries(readConfigFile(path)).map(([k, v]) => [k, isSecret(k) ? '(set)' : v]));
    if (opts.json) env.ui.json(shown);
    else
      env.ui.data(
        Object.entries(shown)
          .map(([k, v]) => `${k}=${String(v)}\n`)
          .join(''),
      );
  });

  sub('path', 'print where config.json lives').action(async (opts: ConfigOptions) => {
    const { path, env } = open(ctx, opts);
    env.ui.data(`${path}\n`);
  });
}

/**
 * Only the file's location is resolved, not the configuration itself: `xtalk config` must be able
 * to repair a config.json (or environment) that resolveConfig rejects.
 */
function open(ctx: Context, opts: ConfigOptions) {
  const ui = createUi(ctx.io, ctx.env, { debug: opts.debug });
  const run = openRun(ctx, { ui, warn: (m) => ui.warn(m) });
  return { env: run, path: run.paths().configFile };
}

/** A value typed on the command line that the file may not hold is a usage error. */
function checkTyped(key: string, value: string, file: Readonly<Record<string, unknown>> = {}): string | number {
  try {
    return checkConfigFileValue(key, value, file);
  } catch (e) {
    // Typed on the command line: a usage error, with the facts (and so the hint) of the parser's.
    if (e instanceof XtalkError) throw new UsageError('USAGE', e.message, { facts: e.facts as FactsOf<'USAGE'> });
    throw e;
  }
}

function checkKnown(key: string): void {
  if (!CONFIG_FILE_KEYS.includes(key))
    throw new UsageError('USAGE', `Unknown setting "${key}".`, {
      facts: { reason: 'unknown_setting', choices: CONFIG_FILE_KEYS.join(', ') },
    });
}
