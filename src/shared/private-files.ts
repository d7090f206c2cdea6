import { chmodSync, mkdirSync, statSync } from 'node:fs';

/** Creates `dir` (and parents) 0700 and tightens an existing one: the store and config folders hold secrets. */
export function ensurePrivateDir(dir: string, platform: NodeJS.Platform = process.platform): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tightenMode(dir, 0o700, platform);
}

/**
 * chmods `path` to `mode` when group or others have any access; absent files are ignored. Not on
 * Windows, where a mode is only the read-only bit and the folder's ACL (the user's profile) decides.
 */
export function tightenMode(path: string, mode: number, platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32') return;
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if ((current & 0o077) !== 0) chmodSync(path, mode);
}
