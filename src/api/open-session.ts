import type { FreshTokenDeps } from '../auth/refresh/single-flight.js';
import { selectAccount } from '../auth/select-account.js';
import { resolveConfig } from '../config/resolve.js';
import { classifyEscapedError } from '../store/store-errors.js';
import { createSystemServices } from '../system-services.js';
import type { SessionOptions } from './options.js';
import type { AccountRecord, TokenStore } from '../auth/ports.js';

/** One call's view of the machine: the CLI's configuration, store and refresh, without a terminal. */
export interface Session {
  deps: FreshTokenDeps;
  store: TokenStore;
  account: AccountRecord;
}

/** Opens the store for one call, selects the account as the CLI does, and always closes the store. */
export async function withStore<T>(opts: SessionOptions, fn: (store: TokenStore, deps: FreshTokenDeps) => Promise<T> | T): Promise<T> {
  const env = opts.env ?? process.env;
  const config = resolveConfig({ flags: {}, env, cwd: opts.cwd ?? process.cwd(), platform: process.platform });
  const services = createSystemServices(env);
  // A library must not write to the host program's stderr: the keychain fallback becomes a process warning.
  const warn = (message: string) => process.emitWarning(message, { type: 'XtalkWarning', code: 'XTALK_CREDENTIAL_STORE_FALLBACK' });
  try {
    const store = services.openStore({ paths: config.paths, mode: config.credentialStore, keyCacheSeconds: config.keyCacheSeconds, warn });
    try {
      return await fn(store, { ctx: services, ui: { debug: () => {} }, store, config });
    } finally {
      store.close();
    }
  } catch (e) {
    // The CLI's error edge does the same: what escaped the store is still a typed error for programs.
    throw classifyEscapedError(e);
  }
}

export function withSession<T>(opts: SessionOptions, fn: (session: Session) => Promise<T> | T): Promise<T> {
  return withStore(opts, (store, deps) => fn({ deps, store, account: selectAccount(store, opts.account) }));
}

