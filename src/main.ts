import { runFast } from './cli/fast-path.js';
import { attachProcessEdge } from './cli/process-edge.js';
import { parseFastArgs } from './commands/fast-path.js';
import { createSystemContext } from './system-context.js';

/** The full program (every command; bin/xtalk.cjs tries src/quick.ts first for token and whoami). */
export async function main(): Promise<void> {
  const edge = attachProcessEdge();
  const argv = process.argv.slice(2);
  const ctx = createSystemContext(edge);
  const fast = parseFastArgs(argv);
  const code = fast ? await runFast(fast, ctx) : await (await import('./cli/run.js')).run(argv, ctx);
  edge.finish(code);
}
