import { writeSync } from 'node:fs';
import type { Context } from './context.js';
import { CancelledError } from './errors.js';
import { openStore } from './store/index.js';

/** What the CLI and the Node API share on the real machine: clock, store, provider, fault points. */
export type SystemServices = Pick<Context, 'now' | 'sleep' | 'pid' | 'isProcessAlive' | 'openStore' | 'discover' | 'faultPoint'>;

/** The services that need no terminal or browser, so the Node API gets exactly the CLI's. */
export function createSystemServices(env: Readonly<Record<string, string | undefined>>): SystemServices {
  return {
    now: () => Date.now(),
    sleep,
    pid: process.pid,
    isProcessAlive,
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
function hangAtFaultPoint(env: Readonly<Record<string, string | undefined>>, name: string): void {
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
