import { StoreError } from '../../errors.js';
import { BUSY_TIMEOUT_MS, guardSqlite, type Db } from './db.js';

/**
 * The database's write lock held across `await`s: how a refresh is single-flight between processes
 * and how the data key is created once. Within this process, callers queue for it (lockQueue).
 */

/** The last holder of (or waiter for) each database's write lock in this process. */
const lockQueue = new Map<string, Promise<void>>();

/**
 * Runs `fn` inside `BEGIN IMMEDIATE` … `COMMIT` (ROLLBACK when it throws), or resolves with
 * `{ locked: false }` at once when another process holds the write lock: the caller decides how
 * to wait (SQLite's own busy wait would block the thread, and with it whatever the caller could
 * do meanwhile). Unlike `db.transaction()` the lock survives `await`, so `fn` may talk to the
 * keychain or the provider. Synchronous `db.transaction()` calls inside `fn` become savepoints.
 */
export function tryImmediateLock<T>(db: Db, path: string, fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
  return immediateLock(db, path, fn, false);
}

/** {@link tryImmediateLock}, waiting (SQLite's busy timeout) for another process's lock. */
export async function withImmediateLock<T>(db: Db, path: string, fn: () => Promise<T>): Promise<T> {
  // Waiting, it either takes the lock or throws (locked after BUSY_TIMEOUT_MS).
  return ((await immediateLock(db, path, fn, true)) as { locked: true; value: T }).value;
}

async function immediateLock<T>(
  db: Db,
  path: string,
  fn: () => Promise<T>,
  wait: boolean,
): Promise<{ locked: true; value: T } | { locked: false }> {
  if (db.inTransaction) throw new StoreError('STORE_ERROR', 'internal error: nested store lock', { facts: { reason: 'internal' } });
  // Same-process callers (the Node API called concurrently) queue here and reach BEGIN IMMEDIATE
  // one at a time: a second connection of this process would otherwise wait on itself.
  const previous = lockQueue.get(path) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  lockQueue.set(path, tail);
  await previous;
  try {
    if (wait) guardSqlite(path, () => db.exec('BEGIN IMMEDIATE'));
    else if (!beginWithoutWaiting(db, path)) return { locked: false };
    try {
      const value = await fn();
      // `fn` may have committed already (a refresh answer is committed the moment it arrives).
      if (db.inTransaction) guardSqlite(path, () => db.exec('COMMIT'));
      return { locked: true, value };
    } catch (e) {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch {
        // SQLite rolled back already (a failed COMMIT on a full disk does); `e` says why.
      }
      throw e;
    }
  } finally {
    release();
    if (lockQueue.get(path) === tail) lockQueue.delete(path);
  }
}

/** BEGIN IMMEDIATE, or false at once when another connection holds the write lock. */
function beginWithoutWaiting(db: Db, path: string): boolean {
  try {
    db.pragma('busy_timeout = 0');
    return guardSqlite(path, () => {
      try {
        db.exec('BEGIN IMMEDIATE');
        return true;
      } catch (e) {
        if (String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY')) return false;
        throw e;
      }
    });
  } finally {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}
