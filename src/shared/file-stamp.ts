import { statSync, type Stats } from 'node:fs';

/**
 * Times within this much of now are not trusted to show a later change: file systems stamp files
 * with a coarse clock (a few ms on Linux, 2 s on FAT), so a file written twice in one tick with the
 * same size looks unchanged. A file that young is read again each time until it is older (git's
 * "racy clean" rule).
 */
export const RACY_MS = 2000;

/**
 * What a file is now, as a short text that changes when it is created, deleted, replaced or
 * written: device, inode, size, modification and change times (`absent` when there is none).
 * Undefined when the file changed too recently for its times to be trusted (see {@link RACY_MS}),
 * or cannot be looked at: the caller reads the file itself then. `writtenInPlace: false` is for a
 * file that is only ever replaced whole (a new inode) or deleted, never rewritten: its times need
 * no such trust.
 */
export function fileStamp(path: string, now: number = Date.now(), opts: { writtenInPlace?: boolean } = {}): string | undefined {
  let stat: Stats | undefined;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (!stat) return 'absent';
  if (opts.writtenInPlace !== false && (now - stat.mtimeMs < RACY_MS || now - stat.ctimeMs < RACY_MS)) return undefined;
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}
