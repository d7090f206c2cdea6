import type { Context } from './context.js';
import { openStore } from './store/index.js';

/** The real machine: process streams, the system browser, keychain and network. */
export function createSystemContext(opts: { signal: AbortSignal }): Context {
  const env = process.env;
  return {
    io: {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      stdinIsTTY: Boolean(process.stdin.isTTY),
      stderrIsTTY: Boolean(process.stderr.isTTY),
    },
    env,
    cwd: process.cwd(),
    platform: process.platform,
    now: () => Date.now(),
    signal: opts.signal,
    openBrowser: async (url) => {
      const { openBrowser } = await import('./browser/open-browser.js');
      await openBrowser(url, { env, platform: process.platform });
    },
    openStore: ({ paths, mode, warn }) =>
      openStore({ dbPath: paths.dbPath, keyFilePath: paths.keyFilePath, mode, warn }),
    discover: async (settings) => {
      const { ProviderClient } = await import('./oidc/client.js');
      return ProviderClient.discover(settings);
    },
    faultPoint: async (name) => {
      if (env.XTALK_TEST_FAULT_POINT !== name) return;
      process.stderr.write(`xtalk-fault-point:${name}\n`);
      await new Promise(() => setInterval(() => {}, 60_000));
    },
  };
}
