/**
 * The ports: what the use cases in auth/ (and the commands above them) need from the outside
 * world, as interfaces. The adapters implement them — store/ (TokenStore, Keychain), oidc/
 * (OpenIdProvider), browser/ (Browser), system-services.ts (Clock, ProcessLauncher) — importing
 * their types and the records they speak in down from the core; tests build them from test/fakes.
 * This file holds no code.
 */
import type { AuthorizationRequest, AuthorizationRequestOptions, DeviceAuthorization, DevicePoll, RefreshOptions, RefreshResult, TokenResult } from './provider-records.js';
import type { AccountRecord, RefreshFailure, SessionIdentity, StoredAccessToken, StoredRefreshToken } from './session-records.js';
import type { CredentialStoreKind, TokenGrant } from './oauth-terms.js';
import type { Readable, Writable } from 'node:stream';

/** The process's streams and what we know about them. */
export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  /** `xtalk api` pretty-prints JSON for a person; unset counts as a pipe. */
  stdoutIsTTY?: boolean;
  /**
   * Writes data to stdout at once. The real machine writes to the file descriptor without creating
   * process.stdout, which on a pipe would load node:net for one line (`xtalk token`); unset, the
   * data goes to `stdout`.
   */
  writeOut?(text: string): void;
}

/** Time, for expiry decisions and waits. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`; rejects with CancelledError once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
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

/** The user's browser (browser/open-browser.ts on the real machine). */
export interface Browser {
  /** Hands a URL to the user's browser; rejects when no browser could be started. */
  openBrowser(url: string, via?: BrowserVia): Promise<void>;
  probeHost(): Promise<HostFacts>;
}

/** A program `xtalk exec` started: it ends with an exit code or a signal. */
export interface LaunchedProcess {
  /** Resolves when the program ends; rejects with the spawn error (e.g. `ENOENT`) when it could not start. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts a program with the terminal's stdio and exactly the environment given (no shell). */
export type ProcessLauncher = (file: string, args: readonly string[], env: Readonly<Record<string, string | undefined>>) => LaunchedProcess;

/**
 * The OS keychain as the store sees it: one secret per account name under service `xtalk`. A
 * missing entry is `null` / `false`, never an error. Implementations stop work when `signal` aborts.
 */
export interface Keychain {
  get(account: string, signal?: AbortSignal): Promise<string | null>;
  set(account: string, secret: string, signal?: AbortSignal): Promise<void>;
  delete(account: string, signal?: AbortSignal): Promise<boolean>;
}

/** The signed-in accounts and their tokens (store/ over SQLite, tokens encrypted with the data key). */
export interface TokenStore {
  /** One transaction: the user row, the tokens, the account made current. */
  saveLogin(identity: SessionIdentity, grant: TokenGrant, now: number): Promise<AccountRecord>;
  saveRefresh(userId: number, grant: TokenGrant, idClaims: Record<string, unknown> | undefined, now: number): Promise<StoredAccessToken>;
  /** Commits a refresh answer's tokens synchronously, before any check; returns the access token's row id. */
  commitRefreshAnswer(userId: number, grant: TokenGrant, now: number): number;
  /** The committed answer's ID token passed its checks: its token and claims are stored too. */
  confirmRefresh(userId: number, idToken: string | null, idClaims: Record<string, unknown> | undefined, now: number): Promise<StoredAccessToken>;
  /** The committed answer failed a check: its access token is not used. */
  withdrawAccessToken(userId: number, rowId: number): void;
  /** Keeps only the rotated refresh token of an answer whose other parts failed a check. */
  saveRotatedRefreshToken(userId: number, refreshToken: string, now: number): Promise<void>;
  /** Before a refresh grant: the data key for writing in hand and room for the rows, or it throws. */
  prepareRefreshWrite(userId: number): Promise<void>;
  /**
   * Runs `work` holding the database write lock (one refresh at a time across processes), or
   * resolves with `{ locked: false }` at once when another process holds it.
   */
  tryWriteLock<T>(work: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }>;
  recordRefreshFailure(userId: number, failure: RefreshFailure): void;
  refreshFailureSince(userId: number, since: number): RefreshFailure | undefined;
  listAccounts(): AccountRecord[];
  currentAccount(): AccountRecord | undefined;
  findAccounts(selector: string): AccountRecord[];
  setCurrent(userId: number | null): void;
  latestAccessToken(userId: number): Promise<StoredAccessToken | undefined>;
  latestAccessTokenExpiry(userId: number): number | undefined;
  sessionTokens(userId: number, now: number): Promise<{ refresh: StoredRefreshToken | undefined; access: StoredAccessToken[]; unreadable: number }>;
  hasRefreshToken(userId: number): boolean;
  hasSession(userId: number): boolean;
  /** One transaction: the tokens and, unless `keepProfile`, the user row (name, email, claims). */
  deleteSession(userId: number, nextCurrent: number | null, opts?: { keepProfile?: boolean }): void;
  /** Deletes the user rows that hold no token; returns how many. */
  deleteProfilesWithoutSession(): number;
  refreshToken(userId: number): Promise<StoredRefreshToken | undefined>;
  idToken(userId: number): Promise<string | undefined>;
  credentialStore(): CredentialStoreKind | null;
  learnedScope(issuer: string): string | undefined;
  rememberScope(issuer: string, scope: string): void;
  /** Forgets the data key (keychain entry or key file) once no session is left. */
  deleteDataKey(): Promise<void>;
  close(): void;
}

/** One OpenID provider and this machine's client there, discovered (oidc/ over openid-client). */
export interface OpenIdProvider {
  readonly issuer: string;
  /** Where the discovery document came from: the URL that answered and the redirects followed. */
  readonly discovery: { url: string; redirects: { from: string; to: string; status: number }[] };
  readonly revocationEndpoint: string | undefined;
  readonly hasUserinfo: boolean;
  readonly deviceAuthorizationEndpoint: string | undefined;
  readonly publishesScopes: boolean;
  readonly endSessionEndpoint: string | undefined;
  buildEndSessionUrl(opts: { idTokenHint: string | undefined; postLogoutRedirectUri: string; state: string }): string | undefined;
  defaultScope(): string;
  createAuthorizationRequest(opts: AuthorizationRequestOptions): Promise<AuthorizationRequest>;
  exchangeCode(callbackUrl: URL, request: AuthorizationRequest): Promise<TokenResult>;
  startDeviceAuthorization(scope: string): Promise<DeviceAuthorization>;
  pollDeviceToken(deviceCode: string): Promise<DevicePoll>;
  /** Once sent, the answer is awaited and returned, `unverified` when a check after it failed. */
  refresh(refreshToken: string, opts?: RefreshOptions): Promise<RefreshResult>;
  /** Fetches the signing keys now, so checking a refresh answer needs no request after the grant. */
  prefetchKeys(): Promise<boolean>;
  /** Rejects an answer about another subject than `expectedSub`. */
  userinfo(accessToken: string, expectedSub: string): Promise<Record<string, unknown>>;
  revoke(token: string, hint: 'refresh_token' | 'access_token', sleep?: (ms: number) => Promise<void>): Promise<void>;
}
