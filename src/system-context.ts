import { writeSync } from 'node:fs';
import type { Context } from './context.js';
import { CancelledError } from './errors.js';
import { openStore, readKeychainKeyEarly } from './store/index.js';

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
    openBrowser: async (url, via) => {
      const { openBrowser } = await import('./browser/open-browser.js');
      await openBrowser(url, { env, platform: process.platform, via });
    },
    sleep,
    probeHost: async () => (await import('./browser/host-probe.js')).probeHost(env, process.platform),
    pid: process.pid,
    isProcessAlive,
    readKeyEarly: ({ paths, mode }) => readKeychainKeyEarly(paths.dbPath, mode),
    openStore: ({ paths, mode, warn }) =>
      openStore({ dbPath: paths.dbPath, keyFilePath: paths.keyFilePath, mode, warn, faultPoint: (name) => hangAtFaultPoint(env, name) }),
    discover: async (settings) => {
      const [{ ProviderClient }, { withProviderFetch }] = await Promise.all([import('./oidc/client.js'), import('./net/proxy-fetch.js')]);
      // Node's fetch ignores HTTPS_PROXY and friends; undici's proxy agent does not.
      return ProviderClient.discover(withProviderFetch(settings, env));
    },
    faultPoint: async (name) => {
      if (env.XTALK_TEST_FAULT_POINT !== name) return;
      process.stderr.write(`xtalk-fault-point:${name}\n`);
      await new Promise(() => setInterval(() => {}, 60_000));
    },
  };
}

/**
 * The synchronous twin of `faultPoint`, for points inside SQLite transactions (better-sqlite3 cannot
 * await there): announces itself and blocks the thread until the test kills the process.
 */
function hangAtFaultPoint(env: NodeJS.ProcessEnv, name: string): void {
  if (env.XTALK_TEST_FAULT_POINT !== name) return;
  writeSync(2, `xtalk-fault-point:${name}\n`);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0, 60_000);
}

/** Resolves after `ms`; rejects with CancelledError once `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
