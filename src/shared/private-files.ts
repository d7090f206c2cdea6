import { chmodSync, mkdirSync, statSync } from 'node:fs';

const isWindows = process.platform === 'win32';

/** Creates `dir` (and parents) 0700 and tightens an existing one: the store and config folders hold secrets. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tightenMode(dir, 0o700);
}

/** chmods `path` to `mode` when group or others have any access; absent files are ignored. */
export function tightenMode(path: string, mode: number): void {
  if (isWindows) return;
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if ((current & 0o077) !== 0) chmodSync(path, mode);
}
