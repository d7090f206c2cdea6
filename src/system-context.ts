import type { Context } from './core/context.js';
import type { ProcessEdge } from './cli/process-edge.js';
import { createEarlyKeyReads } from './store/keys/early-key-read.js';
import { systemTokenCopy } from './store/keys/keychain/kernel-cache/token-copy.js';
import { createLocalServices, systemDiscover } from './system-services.js';

/** The real machine: process streams, the system browser, keychain and network. */
export function createSystemContext(edge: Pick<ProcessEdge, 'signal' | 'stream' | 'writeOut'>): Context {
  const local = createLocalContext(edge);
  const { env, platform } = local;
  return {
    ...local,
    openBrowser: async (url, via) => {
      const { openBrowser } = await import('./browser/open-browser.js');
      await openBrowser(url, { env, platform, via, processEnv: process.env });
    },
    probeHost: async () => (await import('./browser/host-probe.js')).probeHost(env, platform),
    discover: systemDiscover(env),
  };
}

/** The parts of the Context that reach neither the provider nor a browser: all the quick path has. */
export type LocalContext = Omit<Context, 'openBrowser' | 'probeHost' | 'discover'>;

/**
 * The machine without network or browser. The streams and their TTY flags are looked up when first
 * read: `xtalk token` never touches stdin, and creating a stream loads node:net and the stream machinery.
 */
export function createLocalContext(edge: Pick<ProcessEdge, 'signal' | 'stream' | 'writeOut'>): LocalContext {
  const env = process.env;
  const early = createEarlyKeyReads({ env, platform: process.platform });
  return {
    io: {
      get stdin() {
        return process.stdin;
      },
      get stdout() {
        return edge.stream(1);
      },
      get stderr() {
        return edge.stream(2);
      },
      get stdinIsTTY() {
        return Boolean(process.stdin.isTTY);
      },
      get stderrIsTTY() {
        return Boolean(edge.stream(2).isTTY);
      },
      get stdoutIsTTY() {
        return Boolean(edge.stream(1).isTTY);
      },
      writeOut: (text) => edge.writeOut(text),
    },
    env,
    cwd: process.cwd(),
    platform: process.platform,
    signal: edge.signal,
    ...createLocalServices(env, early.take),
    readKeyEarly: ({ paths, mode, keyCacheSeconds }) => early.start(paths.dbPath, mode, keyCacheSeconds),
    tokenCopy: systemTokenCopy(env, process.platform),
  };
}

export { isProcessAlive, launchProcess, sleep } from './system-services.js';
