import type { Readable, Writable } from 'node:stream';
import type { XtalkPaths } from './config/paths.js';
import type { ProviderClient, ProviderSettings } from './oidc/client.js';
import type { AccountStore } from './store/index.js';
import type { CredentialStoreMode } from './store/types.js';

/** The process's streams and what we know about them. */
export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
}

export interface StoreRequest {
  paths: XtalkPaths;
  mode: CredentialStoreMode;
  warn: (message: string) => void;
}

/** Everything a command may touch outside its own memory; tests build one from test/fakes. */
export interface Context {
  io: Io;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  platform: NodeJS.Platform;
  /** Epoch milliseconds. */
  now(): number;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /** Hands a URL to the user's browser; rejects when no browser could be started. */
  openBrowser(url: string): Promise<void>;
  /** Opens the SQLite store (the data key is fetched only when a token is read or written). */
  openStore(request: StoreRequest): AccountStore;
  /** Discovers the provider; loads openid-client only when called. */
  discover(settings: ProviderSettings): Promise<ProviderClient>;
  /**
   * A named point inside login, refresh and logout where crash tests stop the process
   * (`XTALK_TEST_FAULT_POINT=<name>` makes it announce itself on stderr and hang until killed).
   */
  faultPoint(name: string): Promise<void>;
}
