import type { Command } from 'commander';
import { SETTING_DESCRIPTORS } from '../config/settings.js';
import { SOURCE_ORDER } from '../core/settings-sources.js';
import type { Context } from '../core/context.js';
import { UsageError } from '../errors.js';
import { createUi } from '../output/ui.js';
import { closestWord } from '../shared/closest-word.js';

/** Help topics that are not commands. */
const TOPICS = ['environment'] as const;

/**
 * `xtalk help [command|environment]`: commander's own help command, plus the environment topic. A
 * command named help takes the place of commander's implicit one (commander adds none then), so
 * `xtalk help`, `xtalk help login` and `xtalk help nope` behave as before.
 */
export function registerHelp(program: Command, ctx: Context): void {
  program
    .command('help')
    .description('display help for command, or for "environment": every variable xtalk reads')
    .argument('[topic]', `a command, or ${TOPICS.join(', ')}`)
    .helpOption(false)
    .allowExcessArguments()
    .action(async (topic: string | undefined) => {
      if (topic === 'environment') {
        createUi(ctx.io, ctx.env).data(describeEnvironment());
        return;
      }
      if (topic === undefined) program.help();
      const command = program.commands.find((c) => c.name() === topic || c.aliases().includes(topic));
      if (command && command.name() !== 'help') command.help();
      const topics = [...program.commands.filter((c) => c.name() !== 'help').map((c) => c.name()), ...TOPICS];
      throw new UsageError('USAGE', `unknown help topic '${topic}'`, {
        facts: { reason: 'command_line', suggestion: closestWord(topic, topics) },
      });
    });
}

/**
 * Variables xtalk reads that are not settings of the table in config/settings.ts: the environment's alone,
 * a `.env` never gives them (src/core/settings-sources.ts).
 */
export const OTHER_VARIABLES: readonly { names: string; description: string }[] = [
  { names: 'XTALK_HOME', description: 'one folder for everything (xtalk.db, config.json, the file-backed key); default: the XDG folders' },
  {
    names: 'XDG_DATA_HOME, XDG_CONFIG_HOME',
    description: 'where data (~/.local/share/xtalk) and config.json (~/.config/xtalk) go without XTALK_HOME',
  },
  {
    names: 'HOME, USERPROFILE, APPDATA, LOCALAPPDATA',
    description: 'the home folder, and on Windows the folders for data and config.json',
  },
  {
    names: 'XTALK_BROWSER, else BROWSER',
    description: 'the browser command line, run without a shell, the URL appended; default: the system browser',
  },
  { names: 'DISPLAY, WAYLAND_DISPLAY', description: 'a display is there, so login can open a browser (without one it prints the URL)' },
  {
    names: 'SSH_CONNECTION, SSH_CLIENT, SSH_TTY, USER, LOGNAME',
    description: 'a login over ssh: login says how to forward the loopback port (ssh -L) with these names',
  },
  { names: 'PATH', description: 'where the browser commands are looked up' },
  { names: 'DBUS_SESSION_BUS_ADDRESS', description: 'the session bus of the Secret Service (the keychain on Linux)' },
  { names: 'XTALK_DEBUG', description: '1: diagnostics on stderr, secrets redacted, for every command (same as --debug)' },
  { names: 'NO_COLOR', description: 'any value: no colours (no-color.org); wins over CLICOLOR_FORCE' },
  {
    names: 'FORCE_COLOR',
    description:
      'any value: colours even where stderr or stdout is not a terminal, and even with NO_COLOR (force-color.org); 0 or false: no colours',
  },
  { names: 'CLICOLOR_FORCE', description: 'not 0: colours even where stderr or stdout is not a terminal, unless NO_COLOR is set' },
  { names: 'TERM', description: 'dumb: no colours and no spinner (unless colours are forced)' },
  { names: 'HTTPS_PROXY, HTTP_PROXY, NO_PROXY', description: 'the proxy for requests to the provider (lower-case names win)' },
  { names: 'NODE_EXTRA_CA_CERTS', description: 'a PEM file of extra CA certificates, for a TLS-inspecting proxy' },
  { names: 'NODE_TLS_REJECT_UNAUTHORIZED', description: '0 turns off certificate checks in Node; doctor warns about it' },
];

/** `xtalk help environment`: every variable, its config.json key, whether (and as what) a `.env` may set it, its default. */
export function describeEnvironment(): string {
  const order = SOURCE_ORDER.map((s) => (s === '.env' ? '.env in the current folder' : s)).join(' > ');
  const settings = SETTING_DESCRIPTORS.map((d) => {
    const where = [
      `config.json: ${d.file}`,
      `.env: ${d.dotenv ?? 'never'}`,
      `flag: ${d.flag ?? (d.secret ? 'never (a secret stays out of argv)' : 'none')}`,
      `default: ${d.defaultText ?? 'unset'}`,
    ];
    return `${d.env}\n  ${d.description}\n  ${where.join(' · ')}\n`;
  });
  const dotenvNames = SETTING_DESCRIPTORS.flatMap((d) => (d.dotenv === null ? [] : [d.dotenv]));
  return [
    'Settings, highest first: ' + order + '.',
    `A .env may give only ${dotenvNames.join(', ')}; any other name in it is not used.`,
    '`xtalk config set KEY VALUE` writes the config.json key.',
    '',
    ...settings,
    'Also read (never from a .env):',
    ...OTHER_VARIABLES.map((v) => `  ${v.names}\n    ${v.description}`),
    '',
  ].join('\n');
}
