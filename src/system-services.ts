import type * as NodeChildProcess from 'node:child_process';
import { writeSync } from 'node:fs';
import type { LaunchedProcess, TokenStore } from './core/ports.js';
import type { Context, StoreRequest } from './core/context.js';
import { CancelledError } from './errors.js';
import { openStore, type ConnectionLease, type EarlyKeyRead } from './store/index.js';

/**
 * A store request that may bring an open connection to use instead of opening one (the Node API's
 * shared ones, see leaseConnection); the store never closes it. The lease is the store's own type,
 * so only the roots that wire the store see it: a Context's store requests never carry one.
 */
export interface SharedStoreRequest extends StoreRequest {
  connection?: ConnectionLease;
}

/** What the CLI and the Node API share on the real machine: clock, store, provider, fault points. */
export type SystemServices = Pick<Context, 'now' | 'sleep' | 'pid' | 'isProcessAlive' | 'launch' | 'discover' | 'faultPoint'> & {
  openStore(request: SharedStoreRequest): TokenStore;
};

/** The services that never reach the network: all the quick path (src/quick.ts) has. */
export type LocalServices = Omit<SystemServices, 'discover'>;

/** The services that need no terminal or browser, so the Node API gets exactly the CLI's. */
export function createSystemServices(env: Readonly<Record<string, string | undefined>>): SystemServices {
  return { ...createLocalServices(env), discover: systemDiscover(env) };
}

/** `takeEarlyRead`: the keychain read this run started before opening the store (src/store/keys/early-key-read.ts). */
export function createLocalServices(
  env: Readonly<Record<string, string | undefined>>,
  takeEarlyRead?: (dbPath: string) => EarlyKeyRead | undefined,
): LocalServices {
  return {
    now: () => Date.now(),
    sleep,
    pid: process.pid,
    isProcessAlive,
    launch: launchProcess,
    openStore: ({ paths, mode, keyCacheSeconds, warn, connection, writing }) =>
      openStore({
        dbPath: paths.dbPath,
        keyFilePath: paths.keyFilePath,
        mode,
        keyCacheSeconds,
        warn,
        connection,
        writing,
        early: takeEarlyRead?.(paths.dbPath),
        faultPoint: (name) => hangAtFaultPoint(env, name),
      }),
    faultPoint: async (name) => {
      if (env.XTALK_TEST_FAULT_POINT !== name) return;
      process.stderr.write(`xtalk-fault-point:${name}\n`);
      await new Promise(() => setInterval(() => {}, 60_000));
    },
  };
}

/** Discovery with openid-client, loaded on first use (a refresh, login, logout). */
export function systemDiscover(env: Readonly<Record<string, string | undefined>>): Context['discover'] {
  return async (settings) => {
    const [{ ProviderClient }, { withProviderFetch }] = await Promise.all([import('./oidc/client.js'), import('./net/proxy-fetch.js')]);
    // Node's fetch ignores HTTPS_PROXY and friends; undici's proxy agent does not.
    return ProviderClient.discover(withProviderFetch(settings, env));
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
    if (signal?.aborted) return reject(new CancelledError('CANCELLED', 'Cancelled.'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError('CANCELLED', 'Cancelled.'));
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

/** Starts `file` with the terminal's stdio and exactly `env`, no shell (the Context's ProcessLauncher). */
export function launchProcess(file: string, args: readonly string[], env: Readonly<Record<string, string | undefined>>): LaunchedProcess {
  // Loaded here: node:child_process (with node:net and dgram) is for `xtalk exec` only.
  const { spawn } = process.getBuiltinModule('node:child_process') as typeof NodeChildProcess;
  const child = spawn(file, args, { stdio: 'inherit', env, shell: false });
  return {
    exited: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve({ code, signal }));
    }),
    kill: (signal) => void child.kill(signal),
  };
}
