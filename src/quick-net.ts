import { attachProcessEdge } from './cli/process-edge.js';
import { reportError } from './cli/report.js';
import { keepWasmAtBaseline } from './cli/wasm-baseline.js';
import { hasProxy, readProxyEnv } from './net/proxy-env.js';
import { parseQuickArgs } from './quick/parse-args.js';
import { runQuickCommand } from './quick/run.js';
import { createSystemContext } from './system-context.js';

/**
 * The quick path with the provider at hand: `xtalk refresh`, and the `xtalk token` and `xtalk whoami`
 * runs src/quick.ts hands over (a refresh, `--verify`). bin/xtalk.cjs runs it as one CommonJS file
 * with a V8 code cache (dist/quick-net.cjs), as it runs dist/quick.cjs, so these runs skip Node's
 * ES-module loader, the chunks and commander; openid-client is in the bundle and initialised when
 * discovery first needs it.
 * Its provider calls go over node:http(s) (src/net/lean-fetch.ts, which the build injects as the
 * bundle's fetch): no undici, so no WebAssembly to keep at baseline, except behind a proxy, where
 * undici carries the requests.
 *
 * Resolves with the exit code, or undefined when the command line is not one of these forms.
 */
export async function runQuickNet(argv: readonly string[]): Promise<number | undefined> {
  const quick = parseQuickArgs(argv);
  if (!quick) return undefined;
  if (hasProxy(readProxyEnv(process.env))) keepWasmAtBaseline();
  const edge = attachProcessEdge();
  const ctx = createSystemContext(edge);
  const code = await runQuickCommand(quick, ctx).catch((e: unknown) => reportError(e, ctx, Boolean(quick.opts.debug)));
  edge.finish(code);
  return code;
}
