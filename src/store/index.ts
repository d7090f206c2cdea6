import { AccountStore } from './accounts.js';
import { DataKey } from './data-key.js';
import { openDatabase } from './db.js';
import { createSystemKeychain, guardKeychain, KEYCHAIN_TIMEOUT_MS, type KeychainPort } from './keychain.js';
import type { CredentialStoreMode } from './types.js';

export { AccountStore } from './accounts.js';
export { UndecryptableTokenError } from './crypto.js';
export { BUSY_TIMEOUT_MS, SCHEMA_VERSION } from './db.js';
export { createSystemKeychain, KEYCHAIN_TIMEOUT_MS, KeychainUnavailableError, type KeychainPort } from './keychain.js';
export type * from './types.js';

/** Where the store lives and how its data key is kept. */
export interface OpenStoreOptions {
  /** The SQLite file (`xtalk.db`); its folder is created 0700. */
  dbPath: string;
  /** Where the data key is kept with the file store (0600). */
  keyFilePath: string;
  mode: CredentialStoreMode;
  /** Defaults to the OS keychain; it is only contacted when a token is encrypted or decrypted. */
  keychain?: KeychainPort;
  /** Each keychain call gives up after this long; default {@link KEYCHAIN_TIMEOUT_MS}. */
  keychainTimeoutMs?: number;
  /** Receives the one-line warning when `auto` falls back to the key file. */
  warn: (message: string) => void;
  /** Crash tests stop the process here; synchronous because some points are inside transactions. */
  faultPoint?: (name: string) => void;
}

/**
 * Opens (creating and migrating when needed) the account store. Synchronous and cheap: the data
 * key, and with it the keychain, is resolved only on the first token encryption or decryption.
 */
export function openStore(opts: OpenStoreOptions): AccountStore {
  const timeoutMs = opts.keychainTimeoutMs ?? KEYCHAIN_TIMEOUT_MS;
  const keychain = opts.keychain ? guardKeychain(opts.keychain, timeoutMs) : createSystemKeychain({ timeoutMs });
  const db = openDatabase(opts.dbPath);
  const faultPoint = opts.faultPoint ?? (() => {});
  const dataKey = new DataKey({ db, dbPath: opts.dbPath, keyFilePath: opts.keyFilePath, mode: opts.mode, keychain, warn: opts.warn, faultPoint });
  return new AccountStore(db, opts.dbPath, dataKey, faultPoint, opts.warn);
}
