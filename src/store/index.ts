import { AccountStore } from './accounts.js';
import { DataKey } from './keys/data-key.js';
import type { EarlyKeyRead } from './keys/keychain-read.js';
import { openDatabase, openForReading } from './db/db.js';
import type { ConnectionLease } from './db/shared-connections.js';
import { systemKeyCache, type KeyCachePort } from './keys/keychain/kernel-cache/key-cache.js';
import { createSystemKeychain, guardKeychain, KEYCHAIN_TIMEOUT_MS, type KeychainPort } from './keys/keychain/system-keychain.js';
import { Sql } from './db/sql.js';
import type { CredentialStoreMode } from '../core/oauth-terms.js';
import type { StoreWriting } from '../core/context.js';
import { existsSync } from 'node:fs';

export { AccountStore } from './accounts.js';
export { leaseConnection, MAX_SHARED_CONNECTIONS, type ConnectionLease } from './db/shared-connections.js';
export { UndecryptableTokenError } from './crypto.js';
export { BUSY_TIMEOUT_MS, SCHEMA_VERSION } from './db/db.js';
export { storeVersion } from './db/change-watch.js';
export {
  createSystemKeychain,
  KEYCHAIN_TIMEOUT_MS,
  KeychainUnavailableError,
  type KeychainHost,
  type KeychainPort,
} from './keys/keychain/system-keychain.js';
export { keychainAccount, type EarlyKeyRead } from './keys/keychain-read.js';
export { systemKeyCache, type KeyCachePort } from './keys/keychain/kernel-cache/key-cache.js';

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
  /**
   * How long a keychain key read may be kept in the kernel key cache (Linux; 0 or unset: not at
   * all). Only with the system keychain; `keyCache` replaces the cache (tests).
   */
  keyCacheSeconds?: number;
  keyCache?: KeyCachePort;
  /** A keychain read of this store's data key started before it opened (src/store/keys/early-key-read.ts); only with the system keychain. */
  early?: EarlyKeyRead;
  /** Open read-write at once (see StoreRequest.writing; `'existing'`: where the file exists); otherwise read-only until the first write. */
  writing?: StoreWriting;
  /** Receives the one-line warning when `auto` falls back to the key file. */
  warn: (message: string) => void;
  /** Crash tests stop the process here; synchronous because some points are inside transactions. */
  faultPoint?: (name: string) => void;
  /**
   * A connection lent by {@link leaseConnection} (the Node API's): the store uses it instead of
   * opening one, and the lease's holder gives it back instead of closing the store. The data key is
   * still this store's own, read afresh, so a key another process deleted or replaced is never used.
   */
  connection?: ConnectionLease;
}

/**
 * Opens (creating and migrating when needed) the account store. Synchronous and cheap: the data
 * key, and with it the keychain, is resolved only on the first token encryption or decryption.
 * An existing, current store is opened read-only, and read-write only once something is written,
 * so reading works on a read-only folder or a full disk and leaves the folder as it was.
 */
export function openStore(opts: OpenStoreOptions): AccountStore {
  const timeoutMs = opts.keychainTimeoutMs ?? KEYCHAIN_TIMEOUT_MS;
  const keychain = opts.keychain ? guardKeychain(opts.keychain, timeoutMs) : createSystemKeychain({ timeoutMs });
  const early = opts.keychain ? undefined : opts.early;
  const keyCache = opts.keyCache ?? (opts.keychain ? undefined : systemKeyCache(opts.keyCacheSeconds ?? 0));
  const writeNow = opts.writing === true || (opts.writing === 'existing' && existsSync(opts.dbPath));
  const reader = opts.connection || writeNow ? undefined : openForReading(opts.dbPath);
  const sql = opts.connection
    ? new Sql(opts.connection.db, opts.dbPath)
    : reader
      ? new Sql(reader, opts.dbPath, () => openDatabase(opts.dbPath))
      : new Sql(openDatabase(opts.dbPath), opts.dbPath);
  const faultPoint = opts.faultPoint ?? (() => {});
  const dataKey = new DataKey({
    sql,
    keyFilePath: opts.keyFilePath,
    mode: opts.mode,
    keychain,
    warn: opts.warn,
    faultPoint,
    early,
    keyCache,
  });
  return new AccountStore(sql, dataKey, faultPoint, opts.warn);
}
