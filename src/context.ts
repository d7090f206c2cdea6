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
  /** `xtalk api` pretty-prints JSON for a person; unset counts as a pipe. */
  stdoutIsTTY?: boolean;
}

/** What decides how a browser can be shown here; read only by login, and only when needed. */
export interface HostFacts {
  /** Contents of `/proc/version` on Linux (WSL says "microsoft" there). */
  procVersion: string | undefined;
  /** Paths of the WSL openers, when present. */
  wslview: string | undefined;
  powershell: string | undefined;
}

/** A way to hand a URL to a browser other than XTALK_BROWSER/BROWSER or the system opener. */
export interface BrowserVia {
  /** The program to run with the URL (`wslview`, `powershell.exe`). */
  kind: 'wslview' | 'powershell';
  path: string;
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
  openBrowser(url: string, via?: BrowserVia): Promise<void>;
  /** Resolves after `ms`; rejects with CancelledError once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  probeHost(): Promise<HostFacts>;
  /** This process's id, and whether another process still runs (stale-lock detection). */
  pid: number;
  isProcessAlive(pid: number): boolean;
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
