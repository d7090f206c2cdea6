import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A tmpfs of `size` (mount's syntax, e.g. `1m`) on a fresh folder: a disk the test can fill. Needs root. */
export function mountTinyDisk(size: string, mode = '0700'): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'xtalk-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=${mode}`, 'tmpfs', dir]);
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system of `dir` to the last block with a new file; returns its path. */
export function fillDisk(dir: string): string {
  const path = join(dir, `filler-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return path;
}
