import { closeSync, existsSync, openSync, readFileSync, statSync, constants as fsc, type BigIntStats } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type DatabaseConstructor from 'better-sqlite3';
import BundledDatabase from 'better-sqlite3';
import bundledPackage from 'better-sqlite3/package.json' with { type: 'json' };
import { StoreError } from '../../errors.js';
import { ensurePrivateDir, tightenMode } from '../../shared/private-files.js';
import { toStoreError } from './store-errors.js';

export { ensurePrivateDir, tightenMode };

const require = createRequire(import.meta.url);

/**
 * The addon's own path, so better-sqlite3 skips the `bindings` package, which finds it by trying
 * (and failing) several paths first and walking stack traces.
 */
const nativeBinding = (() => {
  try {
    return require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined; // Built elsewhere (a debug build): `bindings` finds it.
  }
})();

/**
 * The build bundles better-sqlite3's JavaScript (its dozen CommonJS files cost ≈ 9 ms of every
 * `xtalk token` through the module loader); the addon itself stays in node_modules. The bundled
 * JavaScript drives only the addon of the same version: with any other installed version (or no
 * addon path), the installed package is loaded as a whole, as before.
 */
const Database = ((): typeof DatabaseConstructor => {
  if (nativeBinding) {
    try {
      const installed = JSON.parse(readFileSync(join(dirname(nativeBinding), '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
      if (installed.version === bundledPackage.version) return BundledDatabase;
    } catch {
      // Unreadable: the installed package decides.
    }
  }
  return require('better-sqlite3') as typeof DatabaseConstructor;
})();

/** An open xtalk database. Only this file imports better-sqlite3; other store files use this type. */
export type Db = DatabaseConstructor.Database;
/** A prepared statement of a {@link Db}. */
export type Statement = DatabaseConstructor.Statement<unknown[], unknown>;

/** Version of the schema below, kept in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 3;
/** How long a statement waits for another xtalk process's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 30_000;
/** `PRAGMA application_id` ("xtlk"): tells our file apart from any other SQLite database. */
export const APPLICATION_ID = 0x78746c6b;

/*
 * Timestamps: `user` and `refresh_token` keep created_at/updated_at as ISO-8601 UTC text (read by
 * humans in `status`); `access_token.expires_at`/`created_at` are INTEGER epoch milliseconds because
 * the hot path compares them with the clock. `user` uses AUTOINCREMENT so a deleted account's id is
 * never reused: meta.current_user_id and the ciphertexts' AAD name users by id.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE user (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     issuer TEXT NOT NULL,
     sub TEXT NOT NULL,
     username TEXT,
     email TEXT,
     claims TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(claims)),
     client_id TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     UNIQUE (issuer, sub)
   );
   CREATE TABLE refresh_token (
     id INTEGER PRIMARY KEY,
     user_id INTEGER NOT NULL UNIQUE REFERENCES user(id) ON DELETE CASCADE,
     token TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE access_token (
     id INTEGER PRIMARY KEY,
     user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
     refresh_token_id INTEGER REFERENCES refresh_token(id) ON DELETE CASCADE,
     token TEXT NOT NULL,
     token_type TEXT NOT NULL,
     scope TEXT,
     expires_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX access_token_user_expiry ON access_token (user_id, expires_at);
   CREATE INDEX access_token_refresh_token ON access_token (refresh_token_id);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // The latest ID token (encrypted like every token column): the id_token_hint of RP-initiated logout.
  `ALTER TABLE user ADD COLUMN id_token TEXT;`,
  // The revocation endpoint decided at login (discovery's, else a configured one on the issuer's
  // origin); NULL when none was known then, and for accounts stored before this column existed.
  `ALTER TABLE user ADD COLUMN revocation_endpoint TEXT;`,
];

/**
 * Opens (creating when absent) the xtalk database at `path`: folder 0700, files 0600, WAL, foreign
 * keys, migrated to {@link SCHEMA_VERSION}. Refuses newer, foreign and corrupt files with a StoreError.
 */
export function openDatabase(path: string): Db {
  return guardSqlite(path, () => {
    ensurePrivateDir(dirname(path));
    ensurePrivateFile(path);
    // `timeout` is SQLite's busy timeout, set without a statement.
    const db = new Database(path, { nativeBinding, timeout: BUSY_TIMEOUT_MS });
    try {
      const version = checkIdentity(db, path);
      // Only now: a file that is not ours (another program's database) keeps its mode.
      tightenMode(path, 0o600);
      // One exec instead of four prepared statements (every `xtalk token` opens the store).
      // secure_delete: deleted token ciphertext is overwritten instead of lingering in free pages.
      db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;');
      if (version < SCHEMA_VERSION) migrate(db, path);
      // SQLite gives -wal/-shm the main file's mode; this catches files left by an older, laxer run.
      tightenMode(`${path}-wal`, 0o600);
      tightenMode(`${path}-shm`, 0o600);
      return db;
    } catch (e) {
      db.close();
      throw e;
    }
  });
}

/** Above this size (never reached in practice) a read goes through SQLite instead of a copy in memory. */
const MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024;

/**
 * Opens the store at `path` for reading only, or returns undefined where it must be opened read-write
 * ({@link openDatabase}) first: it does not exist yet, is empty or needs migrating. Writes nothing,
 * creates no file and needs no free space, so a valid token is served from a read-only folder or a
 * full disk. Refuses foreign, newer and corrupt files as openDatabase does.
 *
 * A read-only SQLite connection to a WAL database creates `-wal` and `-shm` when they are missing
 * (and leaves them behind); where it cannot (a read-only folder) it fails with SQLITE_CANTOPEN, and
 * on a full disk growing the new `-shm` fails (SQLITE_IOERR_SHMSIZE). The `immutable` URI parameter
 * that avoids both is out of reach: better-sqlite3 builds SQLite with SQLITE_USE_URI=0. So:
 * - with a `-wal` file (another connection is open, or one crashed), a read-only connection through
 *   SQLite's locks, which sees the WAL's commits;
 * - without one, the main file is the whole database (the last connection checkpointed and deleted
 *   its WAL): it is read into memory and opened there, marked as a rollback-journal database in the
 *   copy only (SQLite refuses an in-memory WAL database). That read takes no lock, so a writer could
 *   start, commit and checkpoint into the file meanwhile; the file's identity, size and times are
 *   compared around the read and a `-wal` looked for after it, and a changed file is read again (a
 *   tear slipping through would fail as a corrupt file or an undecryptable token, never as another
 *   token). What the copy holds is the store as of that read, as for any read transaction.
 */
export function openForReading(path: string): Db | undefined {
  return guardSqlite(path, () => {
    const db = openReader(path);
    if (!db) return undefined;
    try {
      if (checkIdentity(db, path) === SCHEMA_VERSION) return db;
      db.close();
      return undefined;
    } catch (e) {
      db.close();
      throw e;
    }
  });
}

function openReader(path: string): Db | undefined {
  const connection = () => new Database(path, { nativeBinding, readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  for (let attempt = 0; attempt < 3; attempt++) {
    if (existsSync(`${path}-wal`)) return connection();
    const before = statOrUndefined(path);
    // Missing, empty or not a file: the read-write path creates it or says what is wrong, as before.
    if (!before?.isFile() || before.size === 0n) return undefined;
    if (before.size > MAX_SNAPSHOT_BYTES) return connection();
    const bytes = readFileSync(path);
    const after = statOrUndefined(path);
    if (!after || !sameVersion(before, after) || existsSync(`${path}-wal`)) continue;
    // Bytes 18 and 19 (write and read format versions): 2 is WAL, 1 the rollback journal.
    if (bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
    return new Database(bytes, { nativeBinding, readonly: true });
  }
  // A writer keeps changing the file: read through SQLite's locks.
  return connection();
}

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

function sameVersion(a: BigIntStats, b: BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * After personal data was deleted: copies the WAL into the main file and truncates it to zero
 * bytes, so the frames that still hold the deleted rows leave the disk (secure_delete has zeroed
 * them in the pages written now). Best effort and without waiting: while another process reads,
 * the WAL stays until the last connection closes, which checkpoints and deletes it. Returns whether
 * the WAL was emptied.
 */
export function truncateWal(db: Db, path: string): boolean {
  if (db.inTransaction) return false;
  try {
    db.pragma('busy_timeout = 0');
    const [result] = guardSqlite(path, () => db.pragma('wal_checkpoint(TRUNCATE)')) as { busy: number }[];
    return result?.busy === 0;
  } catch {
    return false;
  } finally {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/** Runs `fn`, turning better-sqlite3 and file-system errors into a StoreError (code STORE_ERROR, `facts.reason`). */
export function guardSqlite<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toStoreError(e, path);
  }
}

function ensurePrivateFile(path: string): void {
  // Created here, not by SQLite, so the file never exists with umask-derived (often 0644) bits.
  closeSync(openSync(path, fsc.O_RDWR | fsc.O_CREAT, 0o600));
}

/** Returns the file's schema version, or throws when the file is not one of ours or too new. */
function checkIdentity(db: Db, path: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  const foreign = () => new StoreError('STORE_ERROR', `${path} is not an xtalk database`, { facts: { reason: 'foreign', path } });
  if (appId !== 0 && appId !== APPLICATION_ID) throw foreign();
  if (version === 0) {
    const objects = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
    if (objects > 0) throw foreign();
    return 0;
  }
  if (appId !== APPLICATION_ID) throw foreign();
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      'STORE_ERROR',
      `${path} was written by a newer xtalk (schema version ${version}; this xtalk knows up to ${SCHEMA_VERSION})`,
      { facts: { reason: 'newer', path } },
    );
  }
  return version;
}

function migrate(db: Db, path: string): void {
  db.transaction(() => {
    // Another process may have migrated between our read and this write lock.
    let version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0) checkIdentity(db, path);
    for (; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version]!);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
