import { closeSync, openSync, readFileSync, realpathSync, rmSync, writeSync, fsyncSync, constants as fsc } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { KeychainError, SessionExpiredError, StoreError } from '../errors.js';
import { generateDataKey, isDataKey } from './crypto.js';
import { ensurePrivateDir, guardSqlite, tightenMode, withImmediateLock, type Db } from './db.js';
import { KeychainUnavailableError, type KeychainPort } from './keychain.js';
import type { CredentialStoreKind, CredentialStoreMode } from './types.js';

/** What the data key needs to know about its store. */
export interface DataKeyDeps {
  db: Db;
  dbPath: string;
  keyFilePath: string;
  mode: CredentialStoreMode;
  /** Already bounded by `guardKeychain`. */
  keychain: KeychainPort;
  warn: (message: string) => void;
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
    return this.#key ? Promise.resolve(this.#key) : this.#once(() => this.#resolveForWriting());
  }

  /** One resolution at a time per store: a second caller must not open a nested lock or a second key. */
  async #once(resolve: () => Promise<Buffer>): Promise<Buffer> {
    while (this.#pending) await this.#pending.catch(() => undefined);
    if (this.#key) return this.#key;
    this.#pending = resolve();
    try {
      return (this.#key = await this.#pending);
    } finally {
      this.#pending = undefined;
    }
  }

  async #resolveForReading(): Promise<Buffer> {
    const kind = recordedKind(this.#deps);
    const key = kind ? await this.#load(kind) : null;
    if (!key) throw new SessionExpiredError('the stored data key is missing', { hint: 'Run `xtalk login` to sign in again.' });
    return key;
  }

  async #resolveForWriting(): Promise<Buffer> {
    const kind = recordedKind(this.#deps);
    const existing = kind ? await this.#load(kind) : null;
    if (existing) return existing;
    const { db, dbPath } = this.#deps;
    // Held across the keychain call so two first logins cannot each record a different key.
    return withImmediateLock(db, dbPath, async () => {
      // Another process may have created the key while we waited for the lock.
      const again = recordedKind(this.#deps);
      const raced = again ? await this.#load(again) : null;
      if (raced) return raced;
      const wiped = guardSqlite(dbPath, () => {
        const n = db.prepare('DELETE FROM access_token').run().changes + db.prepare('DELETE FROM refresh_token').run().changes;
        db.prepare("DELETE FROM meta WHERE key = 'credential_store'").run();
        return n;
      });
      if (wiped > 0) this.#deps.warn(`The stored data key was missing; removed ${wiped} unreadable token(s). Other accounts must sign in again.`);
      const { key, kind: created } = await this.#create();
      guardSqlite(dbPath, () =>
        db.prepare("INSERT INTO meta (key, value) VALUES ('credential_store', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(created),
      );
      return key;
    });
  }

  /** Removes the key and its record; only valid once no token rows remain (logout of the last account). */
  async delete(): Promise<void> {
    const { db, dbPath } = this.#deps;
    const rows = guardSqlite(dbPath, () => db.prepare('SELECT (SELECT count(*) FROM access_token) + (SELECT count(*) FROM refresh_token)').pluck().get() as number);
    if (rows > 0) throw new StoreError('internal error: the data key is still needed by stored tokens', { hint: 'Please report this bug.' });
    const kind = recordedKind(this.#deps);
    if (kind === 'keychain') await this.#deps.keychain.delete(keychainAccount(dbPath));
    if (kind === 'file') rmSync(this.#deps.keyFilePath, { force: true });
    guardSqlite(dbPath, () => db.prepare("DELETE FROM meta WHERE key = 'credential_store'").run());
    this.#key = undefined;
  }

  /** The recorded key, or null when it is gone; an unreachable keychain is an error, never "gone". */
  async #load(kind: CredentialStoreKind): Promise<Buffer | null> {
    if (kind === 'file') return readKeyFile(this.#deps.keyFilePath);
    let secret: string | null;
    try {
      secret = await this.#deps.keychain.get(keychainAccount(this.#deps.dbPath));
    } catch (e) {
      const reason = e instanceof KeychainUnavailableError ? e.reason : String(e);
      throw new KeychainError(`the data key of ${this.#deps.dbPath} is kept in the OS keychain, which is unavailable: ${reason}`, {
        hint: 'Unlock or start the keychain and retry. xtalk will not switch to a key file by itself: the stored tokens are readable only with the keychain key.',
        cause: e,
      });
    }
    return secret === null ? null : decodeKey(secret, 'the OS keychain entry');
  }

  async #create(): Promise<{ key: Buffer; kind: CredentialStoreKind }> {
    const { mode, keyFilePath } = this.#deps;
    if (mode === 'file') return { key: createKeyFile(keyFilePath), kind: 'file' };
    const key = generateDataKey();
    try {
      await this.#deps.keychain.set(keychainAccount(this.#deps.dbPath), key.toString('base64'));
      return { key, kind: 'keychain' };
    } catch (e) {
      if (mode === 'keychain' || !(e instanceof KeychainUnavailableError)) throw e;
      if (!this.#warned) {
        this.#warned = true;
        this.#deps.warn(
          `No OS keychain available (${e.reason}); keeping the key in ${keyFilePath} (0600). Set XTALK_CREDENTIAL_STORE=keychain to make this an error.`,
        );
      }
      return { key: createKeyFile(keyFilePath), kind: 'file' };
    }
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

function recordedKind({ db, dbPath }: DataKeyDeps): CredentialStoreKind | null {
  const value = guardSqlite(dbPath, () => db.prepare("SELECT value FROM meta WHERE key = 'credential_store'").pluck().get());
  return value === 'keychain' || value === 'file' ? value : null;
}

function readKeyFile(path: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StoreError(`cannot read the key file ${path}`, { hint: 'Check its permissions.', cause: e });
  }
  tightenMode(path, 0o600);
  return decodeKey(text, `the key file ${path}`);
}

function createKeyFile(path: string): Buffer {
  ensurePrivateDir(dirname(path));
  const key = generateDataKey();
  let fd: number;
  try {
    // O_EXCL: never overwrite a key some ciphertext may still depend on.
    fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      const existing = readKeyFile(path);
      if (existing) return existing;
    }
    throw new StoreError(`cannot create the key file ${path}`, { hint: 'Check the permissions of its folder, or set XTALK_HOME.', cause: e });
  }
  try {
    writeSync(fd, `${key.toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (!isDataKey(key)) {
    throw new StoreError(`${where} does not hold a valid xtalk data key`, {
      hint: 'Remove it and run `xtalk login` to sign in again.',
    });
  }
  return key;
}
