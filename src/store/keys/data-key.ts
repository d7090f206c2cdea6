import { rmSync } from 'node:fs';
import { SessionExpiredError, StoreError } from '../../errors.js';
import { dataKeyCheck, generateDataKey } from '../crypto.js';
import { withImmediateLock } from '../db/write-lock.js';
import type { KeyCachePort } from './keychain/kernel-cache/key-cache.js';
import { KeychainUnavailableError, type KeychainPort } from './keychain/system-keychain.js';
import type { Sql } from '../db/sql.js';
import type { CredentialStoreKind, CredentialStoreMode } from '../../core/oauth-terms.js';
import { forgetDataKeyRecord, recordDataKey, recordedCredentialStore, recordedKeyCheck, recordKeyCheck } from '../db/meta-records.js';
import { createKeyFile, readKeyFile } from './key-file.js';
import { keychainAccount, readKeychainKey, type EarlyKeyRead } from './keychain-read.js';

/** What the data key needs to know about its store. */
export interface DataKeyDeps {
  /** The store's connection: reads stay on its read-only one until a write needs the other. */
  sql: Sql;
  keyFilePath: string;
  mode: CredentialStoreMode;
  /** Already bounded by `guardKeychain`. */
  keychain: KeychainPort;
  warn: (message: string) => void;
  /** Crash tests stop the process at the named point (see `faultPoint` in the Context). */
  faultPoint?: (name: string) => void;
  /** A keychain read started before the store opened (src/store/keys/early-key-read.ts); used once. */
  early?: EarlyKeyRead | undefined;
  /** The kernel key cache of a keychain key (Linux); undefined where there is none. */
  keyCache?: KeyCachePort | undefined;
}

/**
 * The 32-byte key that encrypts every token column, resolved only when a token is encrypted or
 * decrypted (`whoami` and `status` never reach the keychain). Where it lives is recorded in
 * `meta.credential_store` when it is created, and that record wins over the requested mode for as
 * long as the key exists: a new key would make the stored ciphertext unreadable.
 */
export class DataKey {
  readonly #deps: DataKeyDeps;
  #key: Buffer | undefined;
  /** `#key` is the kernel key cache's copy: good for reading, but a write confirms it with the keychain first. */
  #fromCopy = false;
  #warned = false;
  #pending: Promise<Buffer> | undefined;

  constructor(deps: DataKeyDeps) {
    this.#deps = deps;
  }

  /** The key for decrypting stored rows; never creates one. A lost key is exit 4 (`xtalk login`). */
  forReading(): Promise<Buffer> {
    return this.#key ? Promise.resolve(this.#key) : this.#once(() => this.#resolveForReading());
  }

  /**
   * The key for encrypting new rows. Creates one (where `mode` says) when none is recorded; when the
   * recorded key is gone, the token rows it protected are unreadable, so they are deleted first.
   */
  forWriting(): Promise<Buffer> {
    return this.#key && !this.#fromCopy ? Promise.resolve(this.#key) : this.#once(() => this.#resolveForWriting(), 'writing');
  }

  /** The key for writing when it is already in hand (after {@link forWriting}), for writes that must not wait. */
  writingKeyInHand(): Buffer | undefined {
    return this.#key && !this.#fromCopy && !this.#pending ? this.#key : undefined;
  }

  /** One resolution at a time per store: a second caller must not open a nested lock or a second key. */
  async #once(resolve: () => Promise<Buffer>, writing?: 'writing'): Promise<Buffer> {
    while (this.#pending) await this.#pending.catch(() => undefined);
    if (this.#key && !(writing && this.#fromCopy)) return this.#key;
    this.#fromCopy = false;
    this.#pending = resolve();
    try {
      return (this.#key = await this.#pending);
    } finally {
      this.#pending = undefined;
    }
  }

  async #resolveForReading(): Promise<Buffer> {
    const kind = recordedKind(this.#deps);
    const key = kind ? await this.#load(kind, 'may use the cached copy') : null;
    if (!key) {
      const facts =
        kind === 'keychain'
          ? ({ dataKeyGone: 'keychain', keychainAccount: keychainAccount(this.#deps.sql.dbPath) } as const)
          : kind === 'file'
            ? ({ dataKeyGone: 'file', path: this.#deps.keyFilePath } as const)
            : ({ dataKeyGone: 'unrecorded' } as const);
      throw new SessionExpiredError('SESSION_EXPIRED', 'the stored data key is missing', { facts });
    }
    return key;
  }

  async #resolveForWriting(): Promise<Buffer> {
    const kind = recordedKind(this.#deps);
    // Never the cached copy: what is written must be readable with the keychain's key once the copy is gone.
    const existing = kind ? await this.#load(kind) : null;
    if (existing) {
      // Stores from before the check value get it with their first write, and with it the key cache.
      if (kind === 'keychain' && recordedKeyCheck(this.#deps.sql) === null) {
        recordKeyCheck(this.#deps.sql, dataKeyCheck(existing));
      }
      return existing;
    }
    const { sql } = this.#deps;
    // Another process may have created the key while we waited for a lock.
    const raced = async () => {
      const again = recordedKind(this.#deps);
      return again ? this.#load(again) : null;
    };
    if (kind) {
      // The recorded key is gone. Its rows are forgotten in a transaction of their own: were they
      // deleted in the one that creates the new key, a crash after the new key reached the keychain
      // (or the key file) would roll them back next to a key that cannot open them.
      const found = await withImmediateLock(sql.db, sql.dbPath, async () => {
        const again = await raced();
        if (!again) this.#forgetUnreadableTokens();
        return again;
      });
      if (found) return found;
    }
    // Held across the keychain call so two first logins cannot each record a different key.
    return withImmediateLock(sql.db, sql.dbPath, async () => {
      const found = await raced();
      if (found) return found;
      this.#forgetUnreadableTokens();
      const { key, kind: created } = await this.#create();
      recordDataKey(sql, created, created === 'keychain' ? dataKeyCheck(key) : null);
      return key;
    });
  }

  /** Inside a write transaction: deletes the token rows and the record of a key that is gone. */
  #forgetUnreadableTokens(): void {
    const { sql } = this.#deps;
    const wiped = sql.guard(() => {
      const n = sql.stmt('DELETE FROM access_token').run().changes + sql.stmt('DELETE FROM refresh_token').run().changes;
      forgetDataKeyRecord(sql);
      return n;
    });
    if (wiped > 0)
      this.#deps.warn(`The stored data key was missing; removed ${wiped} unreadable token(s). Other accounts must sign in again.`);
  }

  /** Removes the key and its record; only valid once no token rows remain (logout of the last account). */
  async delete(): Promise<void> {
    const { sql } = this.#deps;
    const rows = sql.guard(
      () => sql.stmt('SELECT (SELECT count(*) FROM access_token) + (SELECT count(*) FROM refresh_token)').pluck().get() as number,
    );
    if (rows > 0)
      throw new StoreError('STORE_ERROR', 'internal error: the data key is still needed by stored tokens', {
        facts: { reason: 'internal' },
      });
    const kind = recordedKind(this.#deps);
    if (kind === 'keychain') {
      const account = keychainAccount(sql.dbPath);
      this.#deps.keyCache?.forget(account);
      await this.#deps.keychain.delete(account);
    }
    if (kind === 'file') rmSync(this.#deps.keyFilePath, { force: true });
    this.#deps.faultPoint?.('logout-key-deleted');
    forgetDataKeyRecord(sql);
    this.#key = undefined;
  }

  /**
   * The recorded key, or null when it is gone; an unreachable keychain is an error, never "gone".
   * Only reads may take (and keep) the kernel key cache's copy (`copy`), see {@link readKeychainKey}.
   */
  async #load(kind: CredentialStoreKind, copy?: 'may use the cached copy'): Promise<Buffer | null> {
    const early = this.#deps.early;
    this.#deps.early = undefined;
    if (kind === 'file') return readKeyFile(this.#deps.keyFilePath);
    const found = await readKeychainKey(this.#deps, early, copy !== undefined);
    if (found?.fromCopy) this.#fromCopy = true;
    return found?.key ?? null;
  }

  async #create(): Promise<{ key: Buffer; kind: CredentialStoreKind }> {
    const { mode, keyFilePath, faultPoint } = this.#deps;
    if (mode === 'file') return { key: this.#createKeyFile(), kind: 'file' };
    const key = generateDataKey();
    const account = keychainAccount(this.#deps.sql.dbPath);
    try {
      // A copy of an earlier key must not be mistaken for this one (the check value would catch it).
      this.#deps.keyCache?.forget(account);
      await this.#deps.keychain.set(account, key.toString('base64'));
      faultPoint?.('login-after-keychain-write');
      return { key, kind: 'keychain' };
    } catch (e) {
      if (mode === 'keychain' || !(e instanceof KeychainUnavailableError)) throw e;
      if (!this.#warned) {
        this.#warned = true;
        this.#deps.warn(
          `No OS keychain available (${e.reason}); keeping the key in ${keyFilePath} (0600). Set XTALK_CREDENTIAL_STORE=keychain to make this an error.`,
        );
      }
      return { key: this.#createKeyFile(), kind: 'file' };
    }
  }

  #createKeyFile(): Buffer {
    const key = createKeyFile(this.#deps.keyFilePath, this.#deps.faultPoint);
    this.#deps.faultPoint?.('login-after-key-file-write');
    return key;
  }
}

/** Removes the data key of a store and its record (for logout of the last account). */
export function deleteDataKey(deps: DataKeyDeps): Promise<void> {
  return new DataKey(deps).delete();
}

function recordedKind({ sql }: DataKeyDeps): CredentialStoreKind | null {
  return recordedCredentialStore(sql);
}
