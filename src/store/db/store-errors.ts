import { accessSync, closeSync, openSync, statfsSync, constants as fsc } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError, tooManyOpenFiles, XtalkError } from '../../errors.js';

/**
 * better-sqlite3's SqliteError, told by its shape: the addon throws instances of the class of the
 * first copy of better-sqlite3's JavaScript a process loaded, and a process may hold several (the
 * quick bundle hands a run over to the full program; a program may load both builds of the Node
 * API), so `instanceof` misses the errors of another copy. Imports nothing of better-sqlite3: the
 * edges (src/cli, src/api) use it too.
 */
export function isSqliteError(e: unknown): e is Error & { code: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && e.name === 'SqliteError' && typeof code === 'string' && code.startsWith('SQLITE_');
}

/**
 * A SQLite or file-system error as the StoreError (code STORE_ERROR, `facts.reason`) a user reads;
 * EMFILE/ENFILE as TOO_MANY_OPEN_FILES. `path` is the database file, when known. Anything else is
 * returned as it is.
 */
export function toStoreError(e: unknown, path?: string): unknown {
  if (e instanceof XtalkError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const file = path ?? 'the xtalk database';
  if (isSqliteError(e)) {
    if (/^SQLITE_(BUSY|LOCKED)(_|$)/.test(e.code)) {
      return new StoreError('STORE_ERROR', `${path === undefined ? file : `the database ${path}`} is locked by another xtalk process`, {
        facts: { reason: 'locked' },
        cause: e,
      });
    }
    if (/^SQLITE_(NOTADB|CORRUPT)(_|$)/.test(e.code)) {
      return new StoreError('STORE_ERROR', `${file} is not an xtalk database or is corrupt`, {
        facts: { reason: 'corrupt', path },
        cause: e,
      });
    }
    if (/^SQLITE_FULL(_|$)/.test(e.code) && path === undefined)
      return new StoreError('STORE_ERROR', `no space left to write ${file}`, { facts: { reason: 'full' }, cause: e });
    if (/^SQLITE_(FULL|READONLY|CANTOPEN|PERM|IOERR)/.test(e.code)) {
      return (
        (e.code.startsWith('SQLITE_CANTOPEN') && outOfFileDescriptors(e)) ||
        (path !== undefined && fileSystemFault(e, path)) ||
        new StoreError('STORE_ERROR', `cannot read or write ${file} (${e.code})`, { facts: { reason: 'permissions' }, cause: e })
      );
    }
    return new StoreError('STORE_ERROR', `database error in ${file}: ${e.message}`, { facts: { reason: 'sqlite' }, cause: e });
  }
  const fileLimit = tooManyOpenFiles(e);
  if (fileLimit) return fileLimit;
  const fault = path !== undefined ? fileSystemFault(e, path) : undefined;
  if (fault) return fault;
  if (path !== undefined && (code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EISDIR')) {
    return new StoreError('STORE_ERROR', `cannot create or open ${path} (${String(code)})`, { facts: { reason: 'cannot_open' }, cause: e });
  }
  return e;
}

/**
 * A failure to write `path` (a file in the data folder) that is the disk's or the file system's,
 * not the permissions': a full disk or quota (`facts.reason` 'full'), a read-only file system or
 * file ('read_only'). SQLite reports a full disk as SQLITE_FULL only for its own files' pages; a
 * `-shm` or `-wal` that cannot grow is some SQLITE_IOERR, so those ask the file system.
 */
export function fileSystemFault(e: unknown, path: string): StoreError | undefined {
  const code = String((e as { code?: unknown } | null)?.code);
  const dir = dirname(path);
  const full =
    code.startsWith('SQLITE_FULL') || code === 'ENOSPC' || code === 'EDQUOT' || (code.startsWith('SQLITE_IOERR') && noSpaceLeft(dir));
  if (full) return new StoreError('STORE_ERROR', `the disk holding ${path} is full (${code})`, { facts: { reason: 'full' }, cause: e });
  const readOnly =
    code === 'EROFS' || code.startsWith('SQLITE_READONLY') || (/^SQLITE_(CANTOPEN|PERM|IOERR)/.test(code) && onReadOnlyFileSystem(dir));
  if (readOnly)
    return new StoreError('STORE_ERROR', `cannot write ${path}: it, its folder or its file system is read-only (${code})`, {
      facts: { reason: 'read_only' },
      cause: e,
    });
  return undefined;
}

/** Less room than a new `-shm` takes (32 KiB), or no inode left: writing there fails for want of space. */
function noSpaceLeft(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < 64 * 1024 || (fs.files > 0 && fs.ffree === 0);
  } catch {
    return false;
  }
}

function onReadOnlyFileSystem(dir: string): boolean {
  try {
    accessSync(dir, fsc.W_OK);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/**
 * SQLite says only "unable to open database file" when the process has no file descriptor left
 * (its -wal and -shm files are opened after the main file): opening any file tells.
 */
function outOfFileDescriptors(cause: unknown): XtalkError | undefined {
  try {
    closeSync(openSync(process.execPath, 'r'));
    return undefined;
  } catch (e) {
    const found = tooManyOpenFiles(e);
    return found && new XtalkError('TOO_MANY_OPEN_FILES', found.message, { cause });
  }
}

/**
 * What an edge (the CLI's error report, the Node API) makes of an error that escaped every guard:
 * a SqliteError becomes the StoreError a guard would have thrown, a shortage of file descriptors
 * TOO_MANY_OPEN_FILES; anything else stays as it is.
 */
export function classifyEscapedError(e: unknown): unknown {
  return tooManyOpenFiles(e) ?? (isSqliteError(e) ? toStoreError(e) : e);
}
