/**
 * Drives the built CLI as separate processes for the crash, load and leak tests: sign-ins completed
 * by the scripted HTTP browser, processes stopped at a fault point and SIGKILLed there, and a look
 * into the store they leave behind.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import type { CredentialStoreMode } from '../../src/core/oauth-terms.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { ROOT, XTALK_BIN, type CliResult } from './cli.js';
import { rawDb } from '../helpers/raw-db.js';

export type CliEnv = Record<string, string | undefined>;

export interface SpawnedCli {
  pid: number;
  stderr(): string;
  /** Resolves once `pattern` shows up on stderr; rejects when the process exits first or after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  kill(signal: NodeJS.Signals): void;
  /** `ms`: from spawn to exit; `endedAt`: `performance.now()` at exit. */
  done: Promise<CliResult & { ms: number; endedAt: number }>;
}

/** Starts `node bin/xtalk.cjs …` with exactly `env` (plus PATH and HOME); stdin is closed. */
export function spawnCli(args: string[], env: CliEnv, timeoutMs = 60_000): SpawnedCli {
  const started = performance.now();
  const child = spawn(process.execPath, [XTALK_BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    wake();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult & { ms: number; endedAt: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      wake();
      const endedAt = performance.now();
      resolve({ code, signal, stdout, stderr, ms: endedAt - started, endedAt });
    });
  });
  return {
    pid: child.pid!,
    stderr: () => stderr,
    waitForStderr: (pattern, waitMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stderr);
          if (match) return finish(() => resolve(match));
          if (exited) return finish(() => reject(new Error(`the CLI exited before printing ${pattern}:\n${stderr}`)));
        };
        const timeout = setTimeout(() => finish(() => reject(new Error(`no ${pattern} on stderr after ${waitMs} ms:\n${stderr}`))), waitMs);
        const finish = (settle: () => void) => {
          clearTimeout(timeout);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      }),
    kill: (signal) => child.kill(signal),
    done,
  };
}

/** Runs a command to completion. */
export function runXtalk(args: string[], env: CliEnv, timeoutMs = 60_000): Promise<CliResult & { ms: number; endedAt: number }> {
  return spawnCli(args, env, timeoutMs).done;
}

/** The authorization URL `xtalk login --no-browser` prints on a line of its own. */
export const AUTHORIZATION_URL = /^(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m;

/**
 * Signs in as `login` through the URL the process prints, delivering the callback without waiting
 * for its answer (the process may be killed before it answers).
 */
export async function completeSignIn(cli: SpawnedCli, login: string): Promise<void> {
  const [, url] = await cli.waitForStderr(AUTHORIZATION_URL);
  const callback = await signInWithHttp(url!, { login, deliverCallback: false });
  void fetch(callback, { redirect: 'manual' })
    .then((res) => res.arrayBuffer())
    .catch(() => undefined);
}

/** `xtalk login --no-browser` completed by the scripted browser; throws unless it exits 0. */
export async function loginCli(env: CliEnv, login: string, extraArgs: string[] = []): Promise<CliResult & { ms: number }> {
  const cli = spawnCli(['login', '--no-browser', ...extraArgs], env);
  await completeSignIn(cli, login);
  const result = await cli.done;
  if (result.code !== 0) throw new Error(`xtalk login as ${login} exited ${result.code}:\n${result.stderr}`);
  return result;
}

export const faultMarker = (point: string) => new RegExp(`^xtalk-fault-point:${point}$`, 'm');

/**
 * Runs `args` with XTALK_TEST_FAULT_POINT=`point`, signing in as `login` when it is a login, and
 * SIGKILLs the process the moment it announces the point. Throws when it exits without reaching it.
 */
export async function killAtFaultPoint(args: string[], env: CliEnv, point: string, opts: { login?: string } = {}): Promise<CliResult> {
  const cli = spawnCli(args, { ...env, XTALK_TEST_FAULT_POINT: point });
  const signIn = opts.login ? completeSignIn(cli, opts.login) : Promise.resolve();
  try {
    await Promise.all([cli.waitForStderr(faultMarker(point)), signIn]);
  } catch (e) {
    cli.kill('SIGKILL');
    await cli.done;
    throw e;
  }
  cli.kill('SIGKILL');
  const result = await cli.done;
  if (result.signal !== 'SIGKILL')
    throw new Error(`expected the process to die of SIGKILL at ${point}, got exit ${result.code}:\n${result.stderr}`);
  return result;
}

/** What a crash left in the store, read by a fresh connection (which recovers the WAL). */
export interface StoreSnapshot {
  integrity: string;
  foreignKeyViolations: number;
  users: string[];
  currentSub: string | undefined;
  refreshTokenRows: number;
  accessTokenRows: number;
  credentialStore: string | null;
  /** Decrypted, per sub; only with `decrypt` (needs the key file or the keychain). */
  refreshTokens: Record<string, string>;
  accessTokens: Record<string, string[]>;
}

export async function inspectStore(home: string, opts: { decrypt?: boolean; mode?: CredentialStoreMode } = {}): Promise<StoreSnapshot> {
  const store = openStore({
    dbPath: join(home, 'xtalk.db'),
    keyFilePath: join(home, 'xtalk.key'),
    mode: opts.mode ?? 'file',
    warn: () => {},
  });
  try {
    // No store yet (nothing was ever written: reads create none) is an empty, sound one.
    const db = existsSync(store.dbPath) ? rawDb(store.dbPath) : undefined;
    const accounts = store.listAccounts();
    const snapshot: StoreSnapshot = {
      integrity: db ? (db.values('PRAGMA integrity_check') as string[]).join('; ') : 'ok',
      foreignKeyViolations: db ? db.values('PRAGMA foreign_key_check').length : 0,
      users: accounts.map((a) => a.sub),
      currentSub: store.currentAccount()?.sub,
      refreshTokenRows: db ? (db.value('SELECT count(*) FROM refresh_token') as number) : 0,
      accessTokenRows: db ? (db.value('SELECT count(*) FROM access_token') as number) : 0,
      credentialStore: store.credentialStore(),
      refreshTokens: {},
      accessTokens: {},
    };
    if (opts.decrypt) {
      for (const a of accounts) {
        const rt = await store.refreshToken(a.id);
        if (rt) snapshot.refreshTokens[a.sub] = rt.refreshToken;
        const at = await store.unexpiredAccessTokens(a.id, 0);
        if (at.length) snapshot.accessTokens[a.sub] = at.map((t) => t.accessToken);
      }
    }
    return snapshot;
  } finally {
    store.close();
  }
}

/** Runs `task` over `items` with at most `limit` at a time, in order of start. */
export async function inParallel<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
