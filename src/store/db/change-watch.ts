import { existsSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { fileStamp } from '../../shared/file-stamp.js';
import { openWatchConnection, type Db, type Statement } from './db.js';

/** After a watch connection failed to open (a read-only folder, no descriptors left), the next try waits this long. */
const RETRY_OPEN_MS = 1000;

interface Watch {
  dev: number;
  ino: number;
  db?: Db;
  dataVersion?: Statement;
  failedAt?: number;
}

const watches = new Map<string, Watch>();

/**
 * A short text that changes whenever the store at `dbPath` may have changed: another connection
 * (this process's or any other's) committed a write — `PRAGMA data_version` of one connection kept
 * open per file for this purpose — or the file was deleted or replaced (its device and inode). Where
 * no such connection can be opened (a read-only folder without `-wal`, where no write can happen),
 * the file's size and times and the absence of a `-wal` stand in. Undefined when nothing can be
 * vouched for: no file, or one changed too recently to be judged by its times. Costs a stat and
 * one statement.
 */
export function storeVersion(dbPath: string, now: number = Date.now()): string | undefined {
  const path = resolve(dbPath);
  let stat: Stats | undefined;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch {
    stat = undefined;
  }
  let watch = watches.get(path);
  if (!stat?.isFile()) {
    if (watch) forget(path, watch);
    return undefined;
  }
  if (watch && (watch.dev !== stat.dev || watch.ino !== stat.ino)) {
    forget(path, watch);
    watch = undefined;
  }
  if (!watch) watches.set(path, (watch = { dev: stat.dev, ino: stat.ino }));
  if (!watch.dataVersion && (watch.failedAt === undefined || now - watch.failedAt >= RETRY_OPEN_MS)) open(path, watch, now);
  const identity = `${stat.dev}:${stat.ino}`;
  if (watch.dataVersion) {
    try {
      return `${identity}:v${String(watch.dataVersion.get())}`;
    } catch {
      forget(path, watch);
      return undefined;
    }
  }
  const stamp = fileStamp(path, now);
  return stamp === undefined || existsSync(`${path}-wal`) ? undefined : `${identity}:s${stamp}`;
}

function open(path: string, watch: Watch, now: number): void {
  let db: Db | undefined;
  try {
    db = openWatchConnection(path);
    const statement = db.prepare('PRAGMA data_version').pluck();
    statement.get();
    watch.db = db;
    watch.dataVersion = statement as Statement;
    watch.failedAt = undefined;
  } catch {
    db?.close();
    watch.failedAt = now;
  }
}

function forget(path: string, watch: Watch): void {
  watches.delete(path);
  try {
    watch.db?.close();
  } catch {
    // Closing a connection to a vanished file: nothing left to release.
  }
}

/** Closes every watch connection (tests; a process that ends closes them anyway). */
export function closeStoreWatches(): void {
  for (const [path, watch] of watches) forget(path, watch);
}
