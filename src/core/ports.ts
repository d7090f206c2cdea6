/**
 * The ports: what the use cases in auth/ (and the commands above them) need from the outside
 * world, as interfaces. The adapters implement them — store/ (TokenStore and its parts, Keychain), oidc/
 * (OpenIdProvider), browser/ (Browser), system-services.ts (Clock, ProcessLauncher) — importing
 * their types and the records they speak in down from the core; tests build them from test/fakes.
 * This file holds no code.
 */
import type {
  AuthorizationRequest,
  AuthorizationRequestOptions,
  DeviceAuthorization,
  DevicePoll,
  RefreshOptions,
  RefreshResult,
  TokenResult,
} from './provider-records.js';
import type { AccountRecord, RefreshFailure, SessionIdentity, StoredAccessToken, StoredRefreshToken } from './session-records.js';
import type { CredentialStoreKind, SecretAuthMethod, TokenGrant } from './oauth-terms.js';
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

/*
 * The store's ports, split by what callers need; store/ (AccountStore over SQLite, tokens encrypted
 * with the data key) implements them all as one {@link TokenStore}, test/fakes/fake-store.ts in
 * memory, and test/unit/store-contract.test.ts runs the same cases on both.
 */

/** Who is stored, who is current and whether their session can still work; reads no secret, so it never needs the data key. */
export interface Accounts {
  /** Every stored account, oldest first, with `current` set on the current one. */
  listAccounts(): AccountRecord[];
  /** The current account, or undefined when nobody is (or the current one was deleted). */
  currentAccount(): AccountRecord | undefined;
  /** Accounts whose sub, username or email equals `selector`, across issuers (several may match). */
  findAccounts(selector: string): AccountRecord[];
  /** Makes `userId` current (an unknown id is a StoreError); `null` leaves nobody current. */
  setCurrent(userId: number | null): void;
  /** Whether the user holds any token, i.e. is signed in (a profile kept by `logout --keep-profile` holds none). */
  hasSession(userId: number): boolean;
  /** Whether the session can renew itself. */
  hasRefreshToken(userId: number): boolean;
  /** Epoch ms when the newest access token expires. */
  latestAccessTokenExpiry(userId: number): number | undefined;
  /** Deletes the user rows that hold no token; returns how many. */
  deleteProfilesWithoutSession(): number;
}

/** A session's tokens: saved by sign-in, read by the commands that use them, forgotten by logout. */
export interface SessionTokens {
  /** One transaction: the user row, the tokens, the account made current. */
  saveLogin(identity: SessionIdentity, grant: TokenGrant, now: number): Promise<AccountRecord>;
  /** The newest access token by insertion, possibly expired. */
  latestAccessToken(userId: number): Promise<StoredAccessToken | undefined>;
  refreshToken(userId: number): Promise<StoredRefreshToken | undefined>;
  /** The latest ID token the provider issued (the logout `id_token_hint`). */
  idToken(userId: number): Promise<string | undefined>;
  /** The refresh token and the access tokens unexpired at `now`; rows the data key cannot open are counted in `unreadable`. */
  sessionTokens(
    userId: number,
    now: number,
  ): Promise<{ refresh: StoredRefreshToken | undefined; access: StoredAccessToken[]; unreadable: number }>;
  /** One transaction: the tokens and, unless `keepProfile`, the user row (name, email, claims). */
  deleteSession(userId: number, nextCurrent: number | null, opts?: { keepProfile?: boolean }): void;
}

/** What the single-flight refresh does besides reading the session's tokens. */
export interface SessionRefresh {
  /**
   * Runs `work` holding the database write lock (one refresh at a time across processes), or
   * resolves with `{ locked: false }` at once when another process holds it. Writes in `work` are
   * undone when it throws, unless {@link commitRefreshAnswer} committed them.
   */
  tryWriteLock<T>(work: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }>;
  /** Before a refresh grant: the data key for writing in hand and room for the rows, or it throws. */
  prepareRefreshWrite(userId: number): Promise<void>;
  /** Commits a refresh answer's tokens synchronously, before any check; returns the access token's row id. */
  commitRefreshAnswer(userId: number, grant: TokenGrant, now: number): number;
  /** The committed answer's ID token passed its checks: its token and claims are stored too. */
  confirmRefresh(
    userId: number,
    idToken: string | null,
    idClaims: Record<string, unknown> | undefined,
    now: number,
  ): Promise<StoredAccessToken>;
  /** The committed answer failed a check: its access token is not used. */
  withdrawAccessToken(userId: number, rowId: number): void;
  /** Keeps only the rotated refresh token of an answer whose other parts failed a check. */
  saveRotatedRefreshToken(userId: number, refreshToken: string, now: number): Promise<void>;
  /** A refresh answer stored in one go (when it could not be committed as it arrived). */
  saveRefresh(userId: number, grant: TokenGrant, idClaims: Record<string, unknown> | undefined, now: number): Promise<StoredAccessToken>;
  recordRefreshFailure(userId: number, failure: RefreshFailure): void;
  refreshFailureSince(userId: number, since: number): RefreshFailure | undefined;
}

/** The scope a login at each issuer settled on after the provider refused the default one. */
export interface LearnedScopes {
  learnedScope(issuer: string): string | undefined;
  rememberScope(issuer: string, scope: string): void;
}

/**
 * How a client authenticates at an issuer, when detection found that the provider refuses its
 * secret in HTTP Basic and takes it in the body (oidc/auth-detection.ts); per issuer and client id.
 */
export interface LearnedAuthMethods {
  learnedAuthMethod(issuer: string, clientId: string): SecretAuthMethod | undefined;
  rememberAuthMethod(issuer: string, clientId: string, method: SecretAuthMethod): void;
}

/** Where the data key lives, and forgetting it. */
export interface DataKeyStorage {
  /** As recorded when the key was created; null before the first write. */
  credentialStore(): CredentialStoreKind | null;
  /** Forgets the data key (keychain entry or key file) once no session is left; a StoreError while tokens remain. */
  deleteDataKey(): Promise<void>;
}

/** The whole store as the Context opens it: every part over one database. */
export interface TokenStore extends Accounts, SessionTokens, SessionRefresh, LearnedScopes, LearnedAuthMethods, DataKeyStorage {
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
  /** `scope`: the scope the authorization asked for, which an answer without `scope` grants. */
  pollDeviceToken(deviceCode: string, scope?: string): Promise<DevicePoll>;
  /** Once sent, the answer is awaited and returned, `unverified` when a check after it failed. */
  refresh(refreshToken: string, opts?: RefreshOptions): Promise<RefreshResult>;
  /**
   * Fetches the signing keys now, so checking a refresh answer (or a sign-in's, fetched while the
   * user is in the browser) needs no request after the grant; `signal` gives up on them, `warm`
   * also readies the code that checks a signature with them.
   */
  prefetchKeys(opts?: { signal?: AbortSignal; warm?: boolean }): Promise<boolean>;
  /** Rejects an answer about another subject than `expectedSub`. */
  userinfo(accessToken: string, expectedSub: string): Promise<Record<string, unknown>>;
  revoke(token: string, hint: 'refresh_token' | 'access_token', sleep?: (ms: number) => Promise<void>): Promise<void>;
}
