import { resolve } from 'node:path';
import { openDatabase, type Db } from './db.js';

/**
 * At most this many connections to one database per process. Each is three file descriptors (the
 * file, its -wal and -shm); a few let a caller whose token is fresh go on while another holds the
 * write lock across a refresh.
 */
export const MAX_SHARED_CONNECTIONS = 4;

/** A connection lent to one caller until it calls `release` (once). */
export interface ConnectionLease {
  readonly db: Db;
  readonly dbPath: string;
  release(): void;
}

interface Pool {
  /** Connections open now, lent or idle. */
  open: number;
  idle: Db[];
  /** Callers waiting for a connection, first come first served. */
  waiting: { resolve: (db: Db) => void; reject: (e: unknown) => void }[];
}

const pools = new Map<string, Pool>();

/**
 * Lends a connection to the database at `dbPath` from the process's pool for it: an idle one, a new
 * one while fewer than {@link MAX_SHARED_CONNECTIONS} are open, else the next one given back. A
 * connection is lent to one caller at a time, so a write lock held across an `await` (see
 * withImmediateLock) never takes in another caller's statements. When every connection is idle
 * again they are closed: nothing stays open once a program's calls are done, and a store changed
 * meanwhile by another process is read afresh anyway (SQLite reads the file on every statement).
 * Opening fails as {@link openDatabase} does (a StoreError, or TOO_MANY_OPEN_FILES).
 */
export async function leaseConnection(dbPath: string): Promise<ConnectionLease> {
  const key = resolve(dbPath);
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = { open: 0, idle: [], waiting: [] }));
  let db = pool.idle.pop();
  if (!db && pool.open < MAX_SHARED_CONNECTIONS) {
    try {
      db = openDatabase(key);
    } catch (e) {
      if (pool.open === 0) pools.delete(key);
      throw e;
    }
    pool.open++;
  }
  const waitingPool = pool;
  const lent = db ?? (await new Promise<Db>((resolve, reject) => waitingPool.waiting.push({ resolve, reject })));
  let released = false;
  return {
    db: lent,
    dbPath: key,
    release: () => {
      if (released) return;
      released = true;
      giveBack(key, waitingPool, lent);
    },
  };
}

function giveBack(key: string, pool: Pool, db: Db): void {
  if (db.open && !db.inTransaction) {
    const next = pool.waiting.shift();
    if (next) return next.resolve(db);
    pool.idle.push(db);
  } else {
    // Left inside a transaction (or closed): not handed on, the next caller would write into it.
    if (db.open) db.close();
    pool.open--;
    const next = pool.waiting.shift();
    if (next) {
      try {
        const fresh = openDatabase(key);
        pool.open++;
        return next.resolve(fresh);
      } catch (e) {
        // Nobody else will give a connection back to the ones still waiting.
        for (const waiter of pool.open === 0 ? [next, ...pool.waiting.splice(0)] : [next]) waiter.reject(e);
      }
    }
  }
  if (pool.idle.length === pool.open && pool.waiting.length === 0) {
    for (const idle of pool.idle) idle.close();
    pools.delete(key);
  }
}
