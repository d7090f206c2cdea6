import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { OptionsOf, OptionTable } from '../commands/options.js';
import { TOKEN_OPTIONS, type TokenOptions } from '../commands/token.js';
import { REFRESH_OPTIONS, type RefreshOptions } from '../commands/refresh.js';
import { WHOAMI_OPTIONS, type WhoamiOptions } from '../commands/whoami.js';

/** A command line the quick path runs itself. */
export type QuickCommand =
  | { command: 'token'; opts: TokenOptions }
  | { command: 'whoami'; opts: WhoamiOptions }
  | { command: 'refresh'; opts: RefreshOptions };

/**
 * `xtalk token` is called in loops and from every script (and `xtalk whoami` nearly as often), so
 * they skip loading commander and the other commands; so does `xtalk refresh` (src/quick-net.ts). Their options come from the same tables
 * commander registers (src/commands/options.ts); any other argument (including --help and `--`)
 * returns undefined and goes through the full program, which accepts at least the same forms.
 */
export function parseQuickArgs(argv: readonly string[]): QuickCommand | undefined {
  const [command, ...args] = argv;
  if (command === 'token') {
    const opts = parseOptions(args, TOKEN_OPTIONS);
    return opts && { command, opts };
  }
  if (command === 'whoami') {
    const opts = parseOptions(args, WHOAMI_OPTIONS);
    return opts && { command, opts };
  }
  if (command === 'refresh') {
    const opts = parseOptions(args, REFRESH_OPTIONS);
    return opts && { command, opts };
  }
  return undefined;
}

/**
 * The options in `args` as commander hands them to the command's action (defaults included), or
 * undefined for anything else. Strict: no positional argument, no `--`, no unknown option, no switch
 * with a value, and no value that looks like an option (`--account --json`; commander takes that
 * as a value, so such a line is left to it).
 */
export function parseOptions<T extends OptionTable>(args: readonly string[], table: T): OptionsOf<T> | undefined {
  // The commonest line, a bare `xtalk token`, has nothing to parse: parseArgs's first call costs
  // about 0.7 ms (Node compiles its code on first use), a percent of the whole run.
  if (args.length === 0) return defaultsOf(table);
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const spec of Object.values(table)) {
    const name = spec.flag.slice(2);
    options[name] =
      spec.value === undefined
        ? { type: 'boolean' }
        : spec.default === undefined
          ? { type: 'string' }
          : { type: 'string', default: spec.default };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: false, tokens: true });
  } catch {
    return undefined;
  }
  if (parsed.tokens.some((t) => t.kind === 'option-terminator')) return undefined;
  const opts: Record<string, string | boolean> = {};
  for (const [key, spec] of Object.entries(table)) {
    const value = parsed.values[spec.flag.slice(2)];
    if (value !== undefined) opts[key] = value as string | boolean;
  }
  return opts as OptionsOf<T>;
}

function defaultsOf<T extends OptionTable>(table: T): OptionsOf<T> {
  const opts: Record<string, string> = {};
  for (const [key, spec] of Object.entries(table)) if (spec.default !== undefined) opts[key] = spec.default;
  return opts as OptionsOf<T>;
}
