import { fileStamp } from '../../shared/file-stamp.js';

/**
 * A short text that changes whenever the store at `dbPath` may have changed, for a process that
 * keeps what it read in memory (the Node API): the fileStamp (device, inode, size, times) of the
 * database and of its `-wal`. Every commit writes one of them — frames appended to the `-wal`, or
 * the database itself when a checkpoint copies them back or the `-wal` is removed — and a file
 * deleted or replaced has another identity or none. Undefined when nothing can be vouched for: no
 * database, or a file written within the last second, whose times cannot show a second write in
 * the same clock tick (then the caller reads the store itself, as before).
 *
 * No connection is kept open for this: SQLite would then keep the descriptors of this process's
 * other connections to the file open after they close (POSIX locks are per process), and a
 * read-only connection closing last leaves `-wal` and `-shm` behind. Two stats cost a few µs.
 */
export function storeVersion(dbPath: string, now: number = Date.now()): string | undefined {
  const db = fileStamp(dbPath, now);
  if (db === undefined || db === 'absent') return undefined;
  const wal = fileStamp(`${dbPath}-wal`, now);
  return wal === undefined ? undefined : `${db}|${wal}`;
}
