import { attachProcessEdge } from './cli/process-edge.js';
import { keepWasmAtBaseline } from './cli/wasm-baseline.js';
import { runQuickNet } from './quick-net.js';
import { createSystemContext } from './system-context.js';

/** The full program (every command; bin/xtalk.cjs tries src/quick.ts and src/quick-net.ts first for token, whoami and refresh). */
export async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // The forms of token, whoami and refresh the quick path takes run without commander here too:
  // commander costs a good part of a start.
  if ((await runQuickNet(argv)) !== undefined) return;
  keepWasmAtBaseline();
  const edge = attachProcessEdge();
  const ctx = createSystemContext(edge);
  edge.finish(await (await import('./cli/run.js')).run(argv, ctx));
}
