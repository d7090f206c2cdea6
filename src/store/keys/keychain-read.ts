import { realpathSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { KeychainError } from '../../errors.js';
import { dataKeyCheck, decodeDataKey, isDataKey } from '../crypto.js';
import { recordedKeyCheck } from '../db/meta-records.js';
import type { Sql } from '../db/sql.js';
import type { KeyCachePort } from './keychain/kernel-cache/key-cache.js';
import { KeychainUnavailableError, type KeychainPort } from './keychain/system-keychain.js';

/** What an early read (src/store/keys/early-key-read.ts) found or started: the cached copy of the key, else the keychain read. */
export interface EarlyKeyRead {
  account: string;
  cached: Buffer | null;
  secret: Promise<string | null> | undefined;
}

/** Where a store's keychain key is read from. */
export interface KeychainKeySource {
  sql: Sql;
  /** Already bounded by `guardKeychain`. */
  keychain: KeychainPort;
  /** The kernel key cache of a keychain key (Linux); undefined where there is none. */
  keyCache?: KeyCachePort | undefined;
}

/**
 * The keychain account of a store: derived from the database's real path, so two XTALK_HOME
 * folders never share (or overwrite) each other's key.
 */
export function keychainAccount(dbPath: string): string {
  let path = resolve(dbPath);
  try {
    path = resolve(realpathSync(dirname(path)), basename(path));
  } catch {
    // The folder does not exist yet; the resolved path is the best name we have.
  }
  return `data-key:${path}`;
}

/**
 * Reads the store's data key from the OS keychain: null when the entry is gone; an unreachable
 * keychain is an error, never "gone". `early` is a read started before the store opened (its own
 * store's only). Only reads may take (and keep) the kernel key cache's copy (`copy`): a copy may
 * outlive the keychain entry, and a write must not produce tokens that only the copy can open.
 * `fromCopy` says the key is that copy.
 */
export async function readKeychainKey(
  { sql, keychain, keyCache }: KeychainKeySource,
  early: EarlyKeyRead | undefined,
  copy: boolean,
): Promise<{ key: Buffer; fromCopy: boolean } | null> {
  const account = keychainAccount(sql.dbPath);
  const ours = early?.account === account ? early : undefined;
  // The cached copy counts only when it is the store's current key: another session may have
  // logged out and in again (a new key) while this session's copy lived on.
  const check = copy ? recordedKeyCheck(sql) : null;
  const cached = !copy ? null : ours ? ours.cached : (keyCache?.read(account) ?? null);
  if (cached) {
    if (check !== null && isDataKey(cached) && dataKeyCheck(cached) === check) return { key: cached, fromCopy: true };
    keyCache?.forget(account);
  }
  let secret: string | null;
  try {
    secret = await (ours?.secret ?? keychain.get(account));
  } catch (e) {
    const reason = e instanceof KeychainUnavailableError ? e.reason : String(e);
    throw new KeychainError(
      'KEYCHAIN_UNAVAILABLE',
      `the data key of ${sql.dbPath} is kept in the OS keychain, which is unavailable: ${reason}`,
      {
        facts: { reason: 'key_in_keychain', timedOut: e instanceof KeychainError && e.facts.timedOut === true ? true : undefined },
        cause: e,
      },
    );
  }
  if (secret === null) return null;
  const key = decodeDataKey(secret, 'the OS keychain entry');
  // Only reads fill the cache, as only reads use it.
  if (copy && check !== null && dataKeyCheck(key) === check) keyCache?.store(account, key);
  return { key, fromCopy: false };
}
