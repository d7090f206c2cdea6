import type { Command, Option } from 'commander';
import { displayName } from '../auth/account-view.js';
import { openCommandRun } from './command-env.js';
import type { Context } from '../core/context.js';
import { typeableName } from '../core/terminal-text.js';
import { CONFIG_FILE_KEYS } from '../config/setting-names.js';
import { createUi } from '../output/ui.js';
import { UsageError } from '../errors.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

interface CommandSpec {
  name: string;
  description: string;
  flags: { long: string; description: string; takesValue: boolean }[];
  /**
   * The words the command's first argument takes: its sub-commands (`xtalk config get`), with those
   * whose one argument is a config.json key, or fixed values (`xtalk completion bash`).
   */
  subcommands?: { names: string[]; keyed: string[] };
}

/** The `xtalk config` sub-commands whose argument is a config.json key (from the settings descriptors). */
const KEYED_CONFIG_SUBCOMMANDS = ['get', 'set', 'unset'];

export function registerCompletion(program: Command, ctx: Context): void {
  program
    .command('completion')
    .description('Print a shell completion script (commands, flags, stored account names).')
    .argument('<shell>', SHELLS.join(' | '))
    .addHelpText(
      'after',
      `
Examples:
  $ xtalk completion bash > ~/.local/share/bash-completion/completions/xtalk
  $ xtalk completion zsh > "\${fpath[1]}/_xtalk"
  $ xtalk completion fish > ~/.config/fish/completions/xtalk.fish`,
    )
    .action(async (shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell))
        throw new UsageError('USAGE', `No completion for "${shell}".`, { facts: { reason: 'unknown_shell', choices: SHELLS.join(', ') } });
      createUi(ctx.io, ctx.env).data(completionScript(shell as Shell, describeCommands(program)));
    });

  // Called by the completion scripts: account names from the local store only, never the network.
  program
    .command('__complete', { hidden: true })
    .argument('<what>')
    .action(async (what: string) => {
      if (what !== 'accounts') return;
      const run = openCommandRun(ctx, {}, {}, { quiet: true });
      try {
        const names = new Set<string>();
        // One word per line that a terminal cannot act on; switch and --account accept it back.
        // Only signed-in accounts: a profile kept after logout is refused by both (exit 4).
        const store = run.store();
        for (const a of store.listAccounts().filter((account) => store.hasSession(account.id))) {
          names.add(typeableName(displayName(a)));
          if (a.email) names.add(typeableName(a.email));
        }
        run.ui.data([...names].map((n) => n + '\n').join(''));
      } finally {
        run.close();
      }
    });
}

/** The visible commands and their long flags, read from the program itself so completion never drifts. */
export function describeCommands(program: Command): CommandSpec[] {
  return program.commands
    .filter((c) => !(c as Command & { _hidden?: boolean })._hidden && c.name() !== 'help')
    .map((c) => ({
      name: c.name(),
      description: c.description().split('\n')[0]!.replace(/\.$/, ''),
      flags: [
        ...c.options
          .filter((o: Option) => !o.hidden && o.long)
          .map((o: Option) => ({ long: o.long!, description: o.description, takesValue: o.required || o.optional })),
        { long: '--help', description: 'show help', takesValue: false },
      ],
      ...(c.commands.length > 0 && {
        subcommands: { names: c.commands.map((sub) => sub.name()), keyed: c.name() === 'config' ? KEYED_CONFIG_SUBCOMMANDS : [] },
      }),
      ...(c.name() === 'completion' && { subcommands: { names: [...SHELLS], keyed: [] } }),
    }));
}

export function completionScript(shell: Shell, commands: CommandSpec[]): string {
  if (shell === 'bash') return bash(commands);
  if (shell === 'zsh') return zsh(commands);
  return fish(commands);
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(commands: CommandSpec[]): string {
  const cases = commands.map((c) => `    ${c.name}) opts=${sq(c.flags.map((f) => f.long).join(' '))} ;;`).join('\n');
  // `xtalk config <sub>`, then `xtalk config get|set|unset <key>`: fixed words, no account names.
  const subs = commands
    .filter((c) => c.subcommands)
    .map(({ name, subcommands: s }) => {
      const keyed =
        s!.keyed.length > 0
          ? `\n        if [ "$COMP_CWORD" -eq 3 ]; then case "\${COMP_WORDS[2]}" in ${s!.keyed.join('|')}) COMPREPLY=($(compgen -W ${sq(CONFIG_FILE_KEYS.join(' '))} -- "$cur")); return ;; esac; fi`
          : '';
      return `      ${name})\n        if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=($(compgen -W ${sq(s!.names.join(' '))} -- "$cur")); return; fi${keyed}\n        ;;`;
    })
    .join('\n');
  return `# xtalk completion for bash: source it, or save it as ~/.local/share/bash-completion/completions/xtalk
_xtalk() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${sq(commands.map((c) => c.name).join(' '))} -- "$cur"))
    return
  fi
  if [ "$prev" = "--account" ] || { [ "\${COMP_WORDS[1]}" = "switch" ] && [ "$COMP_CWORD" -eq 2 ]; }; then
    # Names come from the provider: never through compgen -W (which expands its word list), and
    # quoted with %q so the completed line runs nothing either.
    local name quoted
    COMPREPLY=()
    while IFS= read -r name; do
      printf -v quoted '%q' "$name"
      if [[ $name == "$cur"* || $quoted == "$cur"* ]]; then COMPREPLY+=("$quoted"); fi
    done < <(xtalk __complete accounts 2>/dev/null)
    return
  fi
  if [[ $cur != -* ]]; then
    case "\${COMP_WORDS[1]}" in
${subs}
    esac
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) opts='' ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _xtalk xtalk
`;
}

function zsh(commands: CommandSpec[]): string {
  const list = commands.map((c) => `    ${sq(`${c.name}:${c.description.replace(/:/g, '\\:')}`)}`).join('\n');
  const cases = commands
    .map(
      (c) =>
        `    ${c.name}) flags=(${c.flags.map((f) => sq(`${f.long}[${f.description.replace(/[[\]:]/g, ' ')}]${f.takesValue ? ':value:' : ''}`)).join(' ')}) ;;`,
    )
    .join('\n');
  const subs = commands
    .filter((c) => c.subcommands)
    .map(({ name, subcommands: s }) => {
      const keyed =
        s!.keyed.length > 0
          ? `\n        if (( CURRENT == 4 )) && [[ \${words[3]} == (${s!.keyed.join('|')}) ]]; then compadd -- ${CONFIG_FILE_KEYS.map(sq).join(' ')}; return; fi`
          : '';
      return `      ${name})\n        if (( CURRENT == 3 )); then compadd -- ${s!.names.map(sq).join(' ')}; return; fi${keyed}\n        ;;`;
    })
    .join('\n');
  return `#compdef xtalk
# xtalk completion for zsh: save it as _xtalk in a folder on $fpath
_xtalk() {
  local -a commands flags accounts
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe 'xtalk command' commands
    return
  fi
  if [[ \${words[CURRENT-1]} == --account ]] || { [[ \${words[2]} == switch ]] && (( CURRENT == 3 )) }; then
    # Names come from the provider: one per line, no expansion; compadd quotes them for the line.
    accounts=(\${(f)"$(xtalk __complete accounts 2>/dev/null)"})
    compadd -a accounts
    return
  fi
  if [[ $PREFIX != -* ]]; then
    case \${words[2]} in
${subs}
    esac
  fi
  case \${words[2]} in
${cases}
  esac
  _arguments -s $flags
}
# Autoloaded from $fpath, this file is the function's first call: complete now; sourced, register.
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _xtalk "$@"
else
  compdef _xtalk xtalk
fi
`;
}

function fish(commands: CommandSpec[]): string {
  const lines = [
    '# xtalk completion for fish: save it as ~/.config/fish/completions/xtalk.fish',
    'complete -c xtalk -f',
    ...commands.map((c) => `complete -c xtalk -n __fish_use_subcommand -a ${c.name} -d ${sq(c.description)}`),
    ...commands.flatMap((c) =>
      c.flags.map(
        (f) =>
          `complete -c xtalk -n ${sq(`__fish_seen_subcommand_from ${c.name}`)} -l ${f.long.slice(2)} -d ${sq(f.description)}${
            f.long === '--account' ? " -x -a '(xtalk __complete accounts 2>/dev/null)'" : f.takesValue ? ' -r' : ''
          }`,
      ),
    ),
    "complete -c xtalk -n '__fish_seen_subcommand_from switch' -a '(xtalk __complete accounts 2>/dev/null)'",
    ...commands.flatMap(({ name, subcommands: s }) => {
      if (!s) return [];
      const first = sq(`__fish_seen_subcommand_from ${name}; and test (count (commandline -opc)) -eq 2`);
      const keyed = sq(
        `__fish_seen_subcommand_from ${name}; and __fish_seen_subcommand_from ${s.keyed.join(' ')}; and test (count (commandline -opc)) -eq 3`,
      );
      return [
        `complete -c xtalk -n ${first} -a ${sq(s.names.join(' '))}`,
        ...(s.keyed.length > 0 ? [`complete -c xtalk -n ${keyed} -a ${sq(CONFIG_FILE_KEYS.join(' '))}`] : []),
      ];
    }),
  ];
  return lines.join('\n') + '\n';
}
