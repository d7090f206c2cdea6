import type { Command } from 'commander';

/**
 * One option of a command: the flag, its value's name when it takes one, the help text and the
 * default. A command's table is the one declaration of its options: commander registers them from
 * it ({@link addOptions}) and so does the quick path's parser (src/quick/parse-args.ts), so the two
 * cannot accept different command lines (test/unit/quick-args.test.ts runs both on the same lists).
 */
export interface OptionSpec {
  /** The long flag, e.g. `--min-ttl`; its key in the table is commander's camelCase name of it. */
  flag: `--${string}`;
  /** The value's name in the help (`--min-ttl <seconds>`); without it the option is a switch. */
  value?: string;
  description: string;
  /** Only for options with a value: what the command gets when the flag is not given. */
  default?: string;
}

/** A command's options, keyed by the property its options object has (commander's camelCase of the flag). */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** The options object a table gives a command: a string per option with a value, true per switch given. */
export type OptionsOf<T extends OptionTable> = { -readonly [K in keyof T]?: T[K] extends { value: string } ? string : boolean };

/** `--account` and `--debug`, which every command takes, and `--json` of those with data for stdout. */
export const COMMON_OPTIONS = {
  account: { flag: '--account', value: 'username|email|sub', description: 'act on this stored account instead of the current one' },
  json: { flag: '--json', description: 'print a JSON document on stdout' },
  debug: { flag: '--debug', description: 'print diagnostics on stderr (secrets redacted)' },
} as const satisfies OptionTable;

/** Registers a table's options on a commander command, in the table's order (the order of the help). */
export function addOptions(cmd: Command, table: OptionTable): Command {
  for (const spec of Object.values(table)) {
    const flags = spec.value === undefined ? spec.flag : `${spec.flag} <${spec.value}>`;
    if (spec.default === undefined) cmd.option(flags, spec.description);
    else cmd.option(flags, spec.description, spec.default);
  }
  return cmd;
}
