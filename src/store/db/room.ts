import { closeSync, fsyncSync, openSync, rmSync, statfsSync, statSync, writeSync, constants as fsc } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from '../../errors.js';

/**
 * Room for the rows of a refresh answer, secured before the grant is sent: a rotated refresh token
 * that cannot be written is a session lost. A refresh writes a few pages (the WAL frames, a -shm
 * chunk); this much free space is asked for before the grant, and a reserve file of its own sits
 * beside the database for the moment between that check and the commit.
 */
export const ROOM_NEEDED_BYTES = 128 * 1024;
export const RESERVE_BYTES = 256 * 1024;

/** The reserve file of a store (`xtalk.db.reserve`). */
export const reservePath = (dbPath: string) => `${dbPath}.reserve`;

/** Free bytes for an unprivileged writer in the folder of `dbPath`; undefined where it cannot be told. */
export function freeBytes(dbPath: string): number | undefined {
  try {
    const s = statfsSync(dirname(dbPath));
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Throws a StoreError (reason `full`) unless the folder has {@link ROOM_NEEDED_BYTES} free and the
 * reserve exists (made here when missing: written, not sparse, so its blocks are really held).
 */
export function secureRoom(dbPath: string): void {
  const free = freeBytes(dbPath);
  if (free !== undefined && free < ROOM_NEEDED_BYTES) throw noRoom(dbPath, free);
  const path = reservePath(dbPath);
  try {
    if (statSync(path).size >= RESERVE_BYTES) return;
  } catch {
    // Missing: made below.
  }
  try {
    const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC, 0o600);
    try {
      const chunk = Buffer.alloc(64 * 1024);
      for (let written = 0; written < RESERVE_BYTES; ) written += writeSync(fd, chunk, 0, Math.min(chunk.length, RESERVE_BYTES - written));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    rmSync(path, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw noRoom(dbPath, freeBytes(dbPath) ?? 0, e);
    // A folder that cannot take the reserve cannot take the write either.
    throw new StoreError('STORE_ERROR', `cannot write in the folder of ${dbPath} (${String(code ?? e)})`, {
      facts: { reason: 'cannot_open' },
      cause: e,
    });
  }
}

/** Just before a refresh answer is committed: gives the reserve's blocks to the write when the disk filled meanwhile. */
export function releaseReserveIfLow(dbPath: string): void {
  const free = freeBytes(dbPath);
  if (free === undefined || free < ROOM_NEEDED_BYTES) rmSync(reservePath(dbPath), { force: true });
}

function noRoom(dbPath: string, free: number, cause?: unknown): StoreError {
  return new StoreError(
    'STORE_ERROR',
    `no space left to store a refreshed session next to ${dbPath} (${Math.floor(free / 1024)} KiB free); the refresh was not attempted`,
    {
      facts: { reason: 'full', grantNotSent: true },
      cause,
    },
  );
}
