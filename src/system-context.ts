import type { Context } from './context.js';
import { createSystemServices } from './system-services.js';

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
      stdoutIsTTY: Boolean(process.stdout.isTTY),
    },
    env,
    cwd: process.cwd(),
    platform: process.platform,
    signal: opts.signal,
    openBrowser: async (url, via) => {
      const { openBrowser } = await import('./browser/open-browser.js');
      await openBrowser(url, { env, platform: process.platform, via });
    },
    probeHost: async () => (await import('./browser/host-probe.js')).probeHost(env, process.platform),
    ...createSystemServices(env),
  };
}

export { isProcessAlive, sleep } from './system-services.js';
