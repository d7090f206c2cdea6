import type { Browser, Clock, Io, OpenIdProvider, ProcessLauncher, TokenStore } from './ports.js';
import type { ProviderSettings } from './provider-records.js';
import type { CredentialStoreMode } from './oauth-terms.js';
import type { StoredAccessToken } from './session-records.js';

/** Where xtalk keeps its database, key file and config file (config/paths.ts resolves them). */
export interface XtalkPaths {
  dataDir: string;
  configDir: string;
  dbPath: string;
  keyFilePath: string;
  configFile: string;
}

export interface StoreRequest {
  paths: XtalkPaths;
  mode: CredentialStoreMode;
  /** How long a keychain key may stay in the kernel key cache (`XTALK_KEY_CACHE_SECONDS`; 0: not at all). */
  keyCacheSeconds: number;
  warn: (message: string) => void;
  /**
   * The command will write whatever happens (login, logout): open the store read-write at once, so
   * one that cannot take the write fails before anything happens at the provider. Otherwise reads
   * use a read-only connection until the first write. `'existing'`: the same where a store exists,
   * for a command that writes only when there is something to change (logout: with no store, nobody
   * is signed in, and no store is created).
   */
  writing?: StoreWriting;
}

/** See StoreRequest.writing. */
export type StoreWriting = boolean | 'existing';

/**
 * Everything a command may touch outside its own memory, as the ports of core/ports.ts; the
 * real machine's is built in system-context.ts, tests build one from test/fakes.
 */
export interface Context extends Clock, Browser {
  io: Io;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  platform: NodeJS.Platform;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /** This process's id, and whether another process still runs (stale-lock detection). */
  pid: number;
  isProcessAlive(pid: number): boolean;
  /** Starts the program of `xtalk exec`. */
  launch: ProcessLauncher;
  /** Opens the SQLite store (the data key is fetched only when a token is read or written). */
  openStore(request: StoreRequest): TokenStore;
  /**
   * Optional: `xtalk token` is about to decrypt a token; start reading the store's data key from
   * the OS keychain now, so it travels while the store opens. Resolves once the request is on its way.
   */
  readKeyEarly?(request: Pick<StoreRequest, 'paths' | 'mode' | 'keyCacheSeconds'>): Promise<void>;
  /**
   * Optional (Linux): the native launcher's copy of the access token in the kernel keyring
   * (src/store/keys/keychain/kernel-cache/token-copy.ts). Tests leave it out.
   */
  tokenCopy?: TokenCopyPort;
  /** Discovers the provider; loads openid-client only when called. */
  discover(settings: ProviderSettings): Promise<OpenIdProvider>;
  /**
   * A named point inside login, refresh and logout where crash tests stop the process
   * (`XTALK_TEST_FAULT_POINT=<name>` makes it announce itself on stderr and hang until killed).
   */
  faultPoint(name: string): Promise<void>;
}

/** The launcher's copies of a store's access tokens (see Context.tokenCopy). */
export interface TokenCopyPort {
  /**
   * Before the store is read: what a copy made after the read will be checked against. Undefined
   * when there can be none (`seconds`, XTALK_KEY_CACHE_SECONDS, is 0; no store yet; a path the
   * launcher leaves to Node).
   */
  begin(paths: XtalkPaths, seconds: number): TokenCopyFill | undefined;
  /** Removes every copy of this store's tokens (login, switch, logout, refresh). */
  forget(paths: Pick<XtalkPaths, 'dataDir'>): void;
}

export interface TokenCopyFill {
  /** Keeps `token` for `--account <account>` (undefined: the current account) until `endsAt` (ms) at the latest. */
  fill(
    account: string | undefined,
    token: Pick<StoredAccessToken, 'accessToken' | 'tokenType' | 'expiresAt' | 'createdAt'>,
    endsAt: number,
  ): void;
}
