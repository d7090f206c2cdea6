import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
  constants as fsc,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StoreError } from '../../errors.js';
import { decodeDataKey, generateDataKey } from '../crypto.js';
import { ensurePrivateDir, tightenMode } from '../db/db.js';
import { fileSystemFault } from '../db/store-errors.js';

/** The data key in a file of its own (`xtalk.key`, 0600): the file store, or where there is no OS keychain. */

/** A key file holds one line of base64 (45 bytes); anything bigger is not one. */
const MAX_KEY_FILE_BYTES = 4096;

/**
 * The key in the key file, or null when there is none. Only a regular file of at most
 * {@link MAX_KEY_FILE_BYTES} is read (a link to one is fine): O_NONBLOCK keeps the open of a FIFO
 * from waiting for a writer, and fstat judges what was opened, so a FIFO or a link to /dev/zero is
 * one error instead of a hang or a read without end.
 */
export function readKeyFile(path: string): Buffer | null {
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
  return decodeDataKey(text, `the key file ${path}`);
}

function keyFileRefused(path: string, what: string, keyFile: 'not_a_file' | 'too_large'): StoreError {
  return new StoreError('DATA_KEY_INVALID', `the key file ${path} ${what}; xtalk did not read it`, { facts: { keyFile } });
}

/**
 * Writes a new key to `path` unless a key is already there (which then wins). The key is written and
 * fsynced under a temporary name first and linked into place, so a crash never leaves an empty or
 * half-written key file that would block every later login.
 */
export function createKeyFile(path: string, faultPoint?: (name: string) => void): Buffer {
  ensurePrivateDir(dirname(path));
  const key = generateDataKey();
  const staged = `${path}.${process.pid}.tmp`;
  const failure = (e: unknown) =>
    fileSystemFault(e, path) ??
    new StoreError('STORE_ERROR', `cannot create the key file ${path}`, { facts: { reason: 'key_file_uncreatable' }, cause: e });
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
