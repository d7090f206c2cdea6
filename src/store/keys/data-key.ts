import { closeSync, fstatSync, fsyncSync, linkSync, openSync, readdirSync, readSync, realpathSync, rmSync, statSync, writeSync, constants as fsc } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { KeychainError, SessionExpiredError, StoreError } from '../../errors.js';
import { dataKeyCheck, generateDataKey, isDataKey } from '../crypto.js';
import { ensurePrivateDir, tightenMode, withImmediateLock } from '../db/db.js';
import { fileSystemFault } from '../db/store-errors.js';
import type { KeyCachePort } from './keychain/kernel-cache/key-cache.js';
import { KeychainUnavailableError, type KeychainPort } from './keychain/system-keychain.js';
import type { Sql } from '../db/sql.js';
import type { CredentialStoreKind, CredentialStoreMode } from '../../core/oauth-terms.js';
import { forgetDataKeyRecord, recordDataKey, recordedCredentialStore, recordedKeyCheck, recordKeyCheck } from '../db/meta-records.js';

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
  /** A keychain read started before the store opened (src/quick/early-key-read.ts); used once. */
  early?: EarlyKeyRead | undefined;
  /** The kernel key cache of a keychain key (Linux); undefined where there is none. */
  keyCache?: KeyCachePort | undefined;
}

/** What an early read (src/quick/early-key-read.ts) found or started: the cached copy of the key, else the keychain read. */
export interface EarlyKeyRead {
  account: string;
  cached: Buffer | null;
  secret: Promise<string | null> | undefined;
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
    if (wiped > 0) this.#deps.warn(`The stored data key was missing; removed ${wiped} unreadable token(s). Other accounts must sign in again.`);
  }

  /** Removes the key and its record; only valid once no token rows remain (logout of the last account). */
  async delete(): Promise<void> {
    const { sql } = this.#deps;
    const rows = sql.guard(() => sql.stmt('SELECT (SELECT count(*) FROM access_token) + (SELECT count(*) FROM refresh_token)').pluck().get() as number);
    if (rows > 0) throw new StoreError('STORE_ERROR', 'internal error: the data key is still needed by stored tokens', { facts: { reason: 'internal' } });
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
   * Only reads may take (and keep) the kernel key cache's copy (`copy`): a copy may outlive the
   * keychain entry, and a write must not produce tokens that only the copy can open.
   */
  async #load(kind: CredentialStoreKind, copy?: 'may use the cached copy'): Promise<Buffer | null> {
    const early = this.#deps.early;
    this.#deps.early = undefined;
    if (kind === 'file') return readKeyFile(this.#deps.keyFilePath);
    const account = keychainAccount(this.#deps.sql.dbPath);
    const { sql, keyCache } = this.#deps;
    const ours = early?.account === account ? early : undefined;
    // The cached copy counts only when it is the store's current key: another session may have
    // logged out and in again (a new key) while this session's copy lived on.
    const check = copy ? recordedKeyCheck(sql) : null;
    const cached = !copy ? null : ours ? ours.cached : (keyCache?.read(account) ?? null);
    if (cached) {
      if (check !== null && isDataKey(cached) && dataKeyCheck(cached) === check) {
        this.#fromCopy = true;
        return cached;
      }
      keyCache?.forget(account);
    }
    let secret: string | null;
    try {
      secret = await (ours?.secret ?? this.#deps.keychain.get(account));
    } catch (e) {
      const reason = e instanceof KeychainUnavailableError ? e.reason : String(e);
      throw new KeychainError('KEYCHAIN_UNAVAILABLE', `the data key of ${this.#deps.sql.dbPath} is kept in the OS keychain, which is unavailable: ${reason}`, {
        facts: { reason: 'key_in_keychain', timedOut: e instanceof KeychainError && e.facts.timedOut === true ? true : undefined },
        cause: e,
      });
    }
    if (secret === null) return null;
    const key = decodeKey(secret, 'the OS keychain entry');
    // Only reads fill the cache, as only reads use it.
    if (copy && check !== null && dataKeyCheck(key) === check) keyCache?.store(account, key);
    return key;
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

function recordedKind({ sql }: DataKeyDeps): CredentialStoreKind | null {
  return recordedCredentialStore(sql);
}

/** A key file holds one line of base64 (45 bytes); anything bigger is not one. */
const MAX_KEY_FILE_BYTES = 4096;

/**
 * The key in the key file, or null when there is none. Only a regular file of at most
 * {@link MAX_KEY_FILE_BYTES} is read (a link to one is fine): O_NONBLOCK keeps the open of a FIFO
 * from waiting for a writer, and fstat judges what was opened, so a FIFO or a link to /dev/zero is
 * one error instead of a hang or a read without end.
 */
function readKeyFile(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StoreError('STORE_ERROR', `cannot read the key file ${path}`, { facts: { reason: 'key_file_unreadable' }, cause: e });
  }
  let text: string;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw keyFileRefused(path, 'is not a regular file', 'not_a_file');
    if (stat.size > MAX_KEY_FILE_BYTES) throw keyFileRefused(path, `is larger than ${MAX_KEY_FILE_BYTES} bytes`, 'too_large');
    // One byte more than allowed tells a file that grew after fstat from one that fits.
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let length = 0;
    for (let n: number; (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0; ) {
      length += n;
      if (length > MAX_KEY_FILE_BYTES) throw keyFileRefused(path, `is larger than ${MAX_KEY_FILE_BYTES} bytes`, 'too_large');
    }
    text = buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
  try {
    tightenMode(path, 0o600);
  } catch (e) {
    // A read-only file system: nobody can change the file there, and reading needs no write.
    if ((e as NodeJS.ErrnoException).code !== 'EROFS') throw e;
  }
  return decodeKey(text, `the key file ${path}`);
}

function keyFileRefused(path: string, what: string, keyFile: 'not_a_file' | 'too_large'): StoreError {
  return new StoreError('DATA_KEY_INVALID', `the key file ${path} ${what}; xtalk did not read it`, { facts: { keyFile } });
}

/**
 * Writes a new key to `path` unless a key is already there (which then wins). The key is written and
 * fsynced under a temporary name first and linked into place, so a crash never leaves an empty or
 * half-written key file that would block every later login.
 */
function createKeyFile(path: string, faultPoint?: (name: string) => void): Buffer {
  ensurePrivateDir(dirname(path));
  const key = generateDataKey();
  const staged = `${path}.${process.pid}.tmp`;
  const failure = (e: unknown) =>
    fileSystemFault(e, path) ?? new StoreError('STORE_ERROR', `cannot create the key file ${path}`, { facts: { reason: 'key_file_uncreatable' }, cause: e });
  removeStaleStagedKeys(path);
  try {
    rmSync(staged, { force: true });
    const fd = openSync(staged, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      writeSync(fd, `${key.toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    faultPoint?.('login-key-file-staged');
    // link() never replaces an existing file: a key some ciphertext may depend on stays.
    linkSync(staged, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw failure(e);
    const existing = readKeyFile(path);
    if (existing) return existing;
    throw failure(e);
  } finally {
    rmSync(staged, { force: true });
  }
  return key;
}

/**
 * A process killed between staging and linking leaves `xtalk.key.<pid>.tmp` behind: a key nobody
 * uses (or a second name of the real one). Older than a minute, it cannot be another login's.
 */
function removeStaleStagedKeys(path: string): void {
  const dir = dirname(path);
  const pattern = new RegExp(`^${basename(path).replace(/\./g, '\\.')}\\.\\d+\\.tmp$`);
  try {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      if (pattern.test(name) && Date.now() - statSync(file).mtimeMs > 60_000) rmSync(file, { force: true });
    }
  } catch {
    // Best effort: a leftover file costs nothing but tidiness.
  }
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (!isDataKey(key)) {
    throw new StoreError('DATA_KEY_INVALID', `${where} does not hold a valid xtalk data key`);
  }
  return key;
}
