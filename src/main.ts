import { attachProcessEdge } from './cli/process-edge.js';
import { reportError } from './cli/report.js';
import { parseQuickArgs } from './quick/parse-args.js';
import { runQuickCommand } from './quick/run.js';
import { keepWasmAtBaseline } from './cli/wasm-baseline.js';
import { createSystemContext } from './system-context.js';

/** The full program (every command; bin/xtalk.cjs tries src/quick.ts first for token and whoami). */
export async function main(): Promise<void> {
  keepWasmAtBaseline();
  const edge = attachProcessEdge();
  const argv = process.argv.slice(2);
  const ctx = createSystemContext(edge);
  // The forms of token and whoami the quick path takes run without commander here too: this is
  // where the quick path hands a run over (a refresh), and commander costs a good part of a start.
  const quick = parseQuickArgs(argv);
  const code = quick
    ? await runQuickCommand(quick, ctx).catch((e: unknown) => reportError(e, ctx, Boolean(quick.opts.debug)))
    : await (await import('./cli/run.js')).run(argv, ctx);
  edge.finish(code);
}
