import { attachProcessEdge } from './cli/process-edge.js';
import { keepWasmAtBaseline } from './cli/wasm-baseline.js';
import { createSystemContext } from './system-context.js';

/**
 * The full program: every command through commander. bin/xtalk.cjs comes here only after
 * dist/quick.cjs and dist/quick-net.cjs (src/quick.ts, src/quick-net.ts) declined the command line,
 * so the quick forms of token, whoami and refresh never reach it.
 */
export async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  keepWasmAtBaseline();
  const edge = attachProcessEdge();
  const ctx = createSystemContext(edge);
  edge.finish(await (await import('./cli/run.js')).run(argv, ctx));
}
