import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../../src/context.js';
import { ProviderClient } from '../../src/oidc/client.js';
import { openStore } from '../../src/store/index.js';
import type { KeychainPort } from '../../src/store/keychain.js';
import { CaptureStream, createStdin } from './streams.js';

export interface TestContext extends Context {
  stdout: CaptureStream;
  stderr: CaptureStream;
  /** URLs handed to the browser opener, in order. */
  opened: string[];
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
  stdin?: string;
  stderrIsTTY?: boolean;
  signal?: AbortSignal;
  faultPoint?: (name: string) => Promise<void>;
}

/** A Context over real SQLite in a temp XTALK_HOME, a real provider client, captured streams. */
export function createTestContext(opts: TestContextOptions = {}): TestContext {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'xtalk-test-'));
  const stdout = new CaptureStream();
  const stderr = new CaptureStream();
  const opened: string[] = [];
  const browserRuns: Promise<unknown>[] = [];
  const env = { XTALK_HOME: home, XTALK_CREDENTIAL_STORE: opts.keychain ? undefined : 'file', ...opts.env };
  return {
    io: { stdin: createStdin(opts.stdin), stdout, stderr, stdinIsTTY: false, stderrIsTTY: opts.stderrIsTTY ?? false },
    env,
    cwd: opts.cwd ?? home,
    platform: 'linux',
    now: opts.now ?? (() => Date.now()),
    signal: opts.signal ?? new AbortController().signal,
    openBrowser: async (url) => {
      opened.push(url);
      if (opts.browser) browserRuns.push(opts.browser(url));
    },
    openStore: ({ paths, mode, warn }) =>
      openStore({ dbPath: paths.dbPath, keyFilePath: paths.keyFilePath, mode, warn, keychain: opts.keychain }),
    discover: (settings) => ProviderClient.discover(settings),
    faultPoint: async (name) => opts.faultPoint?.(name),
    stdout,
    stderr,
    opened,
    browserRuns,
    home,
  };
}
