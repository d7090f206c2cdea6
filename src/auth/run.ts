import { existsSync, readFileSync } from 'node:fs';
import { resolvePaths } from '../config/paths.js';
import { resolveConfig, type ConfigFlags, type ResolvedConfig } from '../config/resolve.js';
import type { Context, StoreRequest, StoreWriting, XtalkPaths } from '../core/context.js';
import type { OpenIdProvider, TokenStore } from '../core/ports.js';
import type { AccountRecord } from '../core/session-records.js';
import type { Ui } from '../output/ui.js';
import { createSystemKeychain, guardKeychain, KEYCHAIN_TIMEOUT_MS, type KeychainPort } from '../store/keys/keychain/system-keychain.js';
import { authMethodMemory, discoverFor, type ProviderRequest } from './provider-for.js';

/**
 * One run of a command (or one call of the Node API): the machine it runs on (`ctx`, the Context's
 * ports) and what this run resolves from it, each made on first use and kept for the run — the
 * configuration, the store (opened once, closed by `close`), the provider of an account, the
 * keychain. Use cases take the part of it they need (`Pick<Run, …>`) and an input record.
 * `M`: the machine (the CLI's whole Context; the Node API has no terminal or browser). `U`: the output.
 */
export interface Run<M = Context, U = Ui> {
  ctx: M;
  ui: U;
  /** The settings of this run (flags, environment, `.env`, config.json), resolved once. */
  config(): ResolvedConfig;
  /** Where the database, key file and config file are, without resolving the rest of the configuration. */
  paths(): XtalkPaths;
  /** The store, opened on first use (read-only until the first write, unless the run writes anyway). */
  store(): TokenStore;
  /**
   * `xtalk token` is about to decrypt a token: starts reading the store's data key from the OS keychain
   * now, where the machine can (Context.readKeyEarly), so it travels while the store opens.
   */
  readKeyEarly(): Promise<void>;
  /** Whether a database exists yet: a run that must leave none behind asks before opening the store. */
  storeExists(): boolean;
  /** The provider client of a stored account (see discoverFor), discovered on each call. */
  provider(account: AccountRecord, request?: ProviderRequest): Promise<OpenIdProvider>;
  /** The OS keychain as the store would use it (bounded in time), for the checks of `xtalk doctor`. */
  keychain(): KeychainPort;
  /** A file the user named (`--data @file`, NODE_EXTRA_CA_CERTS); throws the fs error as it is. */
  readFile(path: string): Buffer;
  /** Closes what the run opened (the store). */
  close(): void;
}

/** What a run is built from on any machine: the CLI's Context, or the Node API's services. */
export type RunMachine = Pick<Context, 'env' | 'cwd' | 'platform' | 'now' | 'discover' | 'openStore'> &
  Partial<Pick<Context, 'readKeyEarly'>>;

export interface RunOptions<U> {
  ui: U;
  flags?: ConfigFlags;
  /** The settings, when the caller resolved them already (the Node API remembers them between calls); else resolved on first use. */
  config?: ResolvedConfig;
  /** Told when the store falls back from the keychain (see StoreRequest). */
  warn(message: string): void;
  /** Told what was learned about a provider (a client authentication method); unset, nobody is. */
  notice?: (message: string) => void;
  /** The run writes whatever happens: its store opens read-write at once (see StoreRequest; `'existing'`: where there is one). */
  writing?: StoreWriting;
  /** Instead of the OS keychain (tests), still bounded by `keychainTimeoutMs` (default KEYCHAIN_TIMEOUT_MS). */
  keychain?: KeychainPort;
  keychainTimeoutMs?: number;
}

/** Builds a run the same way for the CLI, the quick path, doctor and the Node API; nothing is opened yet. */
export function openRun<M extends RunMachine, U>(ctx: M, opts: RunOptions<U>): Run<M, U> {
  let config: ResolvedConfig | undefined = opts.config;
  let paths: XtalkPaths | undefined;
  let opened: TokenStore | undefined;
  const run: Run<M, U> = {
    ctx,
    ui: opts.ui,
    config: () => (config ??= resolveConfig({ flags: opts.flags ?? {}, env: ctx.env, cwd: ctx.cwd, platform: ctx.platform })),
    paths: () => (paths ??= config?.paths ?? resolvePaths(ctx.env, ctx.platform)),
    store: () => (opened ??= ctx.openStore(storeRequest(run.config(), opts))),
    readKeyEarly: async () => ctx.readKeyEarly?.(storeRequest(run.config(), opts)),
    storeExists: () => existsSync(run.paths().dbPath),
    provider: (account, request) =>
      discoverFor(ctx, run.config(), account, {
        ...request,
        authMethods: (issuer, clientId) => authMethodMemory(request?.learnedIn ?? run.store, opts.notice ?? (() => {}), issuer, clientId),
      }),
    keychain: () => {
      const timeoutMs = opts.keychainTimeoutMs ?? KEYCHAIN_TIMEOUT_MS;
      return opts.keychain
        ? guardKeychain(opts.keychain, timeoutMs)
        : createSystemKeychain({ timeoutMs, host: { platform: ctx.platform, env: ctx.env } });
    },
    readFile: (path) => readFileSync(path),
    close: () => opened?.close(),
  };
  return run;
}

function storeRequest(config: ResolvedConfig, opts: RunOptions<unknown>): StoreRequest {
  return {
    paths: config.paths,
    mode: config.credentialStore,
    keyCacheSeconds: config.keyCacheSeconds,
    warn: opts.warn,
    writing: opts.writing,
  };
}
