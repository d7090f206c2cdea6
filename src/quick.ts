import { attachProcessEdge } from './cli/process-edge.js';
import { reportError } from './cli/report.js';
import type { Context } from './core/context.js';
import type { Io } from './core/ports.js';
import { parseQuickArgs } from './quick/parse-args.js';
import { runQuickCommand } from './quick/run.js';
import { createLocalContext } from './system-context.js';

/**
 * The quick path: `xtalk token` and `xtalk whoami` run from one CommonJS file (dist/quick.cjs, loaded
 * by bin/xtalk.cjs), without openid-client, commander or the other commands. It runs the same
 * commands with the same Context, except that it cannot reach the provider: when the stored token
 * must be refreshed (or `whoami --verify` asks the provider), the run is handed over before anything
 * was written, and bin/xtalk.cjs starts dist/quick-net.cjs (src/quick-net.ts), which does it all again
 * with openid-client at hand.
 *
 * Resolves with the exit code, or undefined when the run was handed over (or is not a quick form).
 */
export async function runQuick(argv: readonly string[]): Promise<number | undefined> {
  const quick = parseQuickArgs(argv);
  // A refresh always needs the provider: bin/xtalk.cjs sends it to src/quick-net.ts directly.
  if (!quick || quick.command === 'refresh') return undefined;
  const edge = attachProcessEdge();
  const handOver = () => Promise.reject(new HandOver());
  const local = createLocalContext(edge);
  // stderr is held until the run ends: a run handed over must leave nothing behind, since the full
  // program says it all again (the .env notice, --debug lines). The other streams stay lazy getters.
  const held: string[] = [];
  const stderr = {
    write: (chunk: string | Uint8Array) => held.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')) > 0,
  } as unknown as Io['stderr'];
  const io: Io = Object.create(local.io, { stderr: { value: stderr } });
  const ctx: Context = { ...local, io, discover: handOver, openBrowser: handOver, probeHost: handOver };
  let code: number;
  try {
    code = await runQuickCommand(quick, ctx);
  } catch (e) {
    if (e instanceof HandOver) {
      edge.detach();
      return undefined;
    }
    code = reportError(e, ctx, Boolean(quick.opts.debug));
  }
  if (held.length > 0) edge.stream(2).write(held.join(''));
  edge.finish(code);
  return code;
}

/** Thrown where the run needs the provider; not an XtalkError, so nothing records or reports it. */
class HandOver extends Error {
  constructor() {
    super('the quick path hands this run over to the full program');
  }
}
