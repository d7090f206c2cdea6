import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserVia, HostFacts } from '../../src/core/ports.js';
import type { Context } from '../../src/core/context.js';
import { leanFetch } from '../../src/net/lean-fetch.js';
import { ProviderClient } from '../../src/oidc/client.js';
import { openStore } from '../../src/store/index.js';
import { isProcessAlive, launchProcess, sleep } from '../../src/system-context.js';
import type { KeychainPort } from '../../src/store/keys/keychain/system-keychain.js';
import type { PassThrough } from 'node:stream';
import { CaptureStream, createStdin } from './streams.js';

/**
 * The provider calls' transport in these tests: Node's fetch, or with XTALK_TEST_TRANSPORT=lean
 * (vitest.config.ts's `lean-fetch` project) src/net/lean-fetch.ts, which the CLI's refresh bundle uses.
 */
const LEAN = process.env.XTALK_TEST_TRANSPORT === 'lean';
export const providerTransport: typeof fetch = LEAN ? (leanFetch as unknown as typeof fetch) : (input, init) => fetch(input, init);

export interface TestContext extends Context {
  stdout: CaptureStream;
  stderr: CaptureStream;
  /** URLs handed to the browser opener, in order. */
  opened: string[];
  /** How each URL was to be opened (undefined: BROWSER or the system opener). */
  openedVia: (BrowserVia | undefined)[];
  /** Every delay asked of ctx.sleep, in milliseconds. */
  sleeps: number[];
  /** What each "browser" did; a real browser runs on its own, so the opener does not wait for it. */
  browserRuns: Promise<unknown>[];
  home: string;
}

export interface TestContextOptions {
  env?: Record<string, string | undefined>;
  home?: string;
  cwd?: string;
  now?: () => number;
  /** What "the browser" does with a URL; default records it only. */
  browser?: (url: string) => Promise<unknown>;
  keychain?: KeychainPort;
  /** Text on stdin, ended; or a stream the test writes to itself. */
  stdin?: string | PassThrough;
  stdinIsTTY?: boolean;
  stderrIsTTY?: boolean;
  /**
   * What ctx.sleep really waits (default: a real timer of the requested length). Tests of polling
   * pass e.g. `() => 20` to keep the asked-for delays observable in `sleeps` without waiting them.
   */
  realSleepMs?: (ms: number) => number;
  host?: Partial<HostFacts>;
  isProcessAlive?: (pid: number) => boolean;
  /** Default: this process's pid; give two in-process logins different ones to see the login lock. */
  pid?: number;
  signal?: AbortSignal;
  faultPoint?: (name: string) => Promise<void>;
}

/**
 * A Context over real SQLite in a temp XTALK_HOME, a real provider client, captured streams. The
 * machine looks like a Linux desktop (DISPLAY is set) unless `env` says otherwise.
 */
export function createTestContext(opts: TestContextOptions = {}): TestContext {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'xtalk-test-'));
  const stdout = new CaptureStream();
  const stderr = new CaptureStream();
  const opened: string[] = [];
  const browserRuns: Promise<unknown>[] = [];
  const openedVia: (BrowserVia | undefined)[] = [];
  const sleeps: number[] = [];
  const env = { XTALK_HOME: home, XTALK_CREDENTIAL_STORE: opts.keychain ? undefined : 'file', DISPLAY: ':99', ...opts.env };
  const stdin = typeof opts.stdin === 'object' ? opts.stdin : createStdin(opts.stdin);
  return {
    io: { stdin, stdout, stderr, stdinIsTTY: opts.stdinIsTTY ?? false, stderrIsTTY: opts.stderrIsTTY ?? false },
    env,
    cwd: opts.cwd ?? home,
    platform: 'linux',
    now: opts.now ?? (() => Date.now()),
    signal: opts.signal ?? new AbortController().signal,
    openBrowser: async (url, via) => {
      opened.push(url);
      openedVia.push(via);
      if (opts.browser) browserRuns.push(opts.browser(url));
    },
    openStore: ({ paths, mode, warn, writing }) =>
      openStore({ dbPath: paths.dbPath, keyFilePath: paths.keyFilePath, mode, warn, writing, keychain: opts.keychain }),
    discover: (settings) => ProviderClient.discover(settings.fetch || !LEAN ? settings : { ...settings, fetch: providerTransport }),
    faultPoint: async (name) => opts.faultPoint?.(name),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return sleep(opts.realSleepMs ? opts.realSleepMs(ms) : ms, signal);
    },
    probeHost: async () => ({ procVersion: undefined, wslview: undefined, powershell: undefined, ...opts.host }),
    pid: opts.pid ?? process.pid,
    isProcessAlive: opts.isProcessAlive ?? isProcessAlive,
    // `xtalk exec` runs real programs in the tests too.
    launch: launchProcess,
    stdout,
    stderr,
    opened,
    openedVia,
    sleeps,
    browserRuns,
    home,
  };
}
