import type { Command } from 'commander';
import { describeEnvironment } from '../config/environment.js';
import type { Context } from '../core/context.js';
import { createUi } from '../output/ui.js';

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
      program.help({ error: true });
    });
}
