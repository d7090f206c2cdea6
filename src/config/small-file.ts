import { closeSync, fstatSync, openSync, readSync, constants as fsc } from 'node:fs';
import { ConfigError } from '../errors.js';

/** `.env` and `config.json` hold a few settings; anything bigger is not one of them. */
export const MAX_SETTINGS_FILE_BYTES = 64 * 1024;

/**
 * Reads a settings file only when it is a regular file of at most {@link MAX_SETTINGS_FILE_BYTES};
 * undefined when it does not exist. O_NONBLOCK keeps the open of a FIFO from blocking the process
 * (a synchronous open would wedge it beyond SIGTERM), and fstat on the opened descriptor judges
 * what was actually opened, so a swap between check and read changes nothing.
 */
export function readSettingsFile(path: string, what: string, opts: { ignoreDirectory?: boolean } = {}): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || (code === 'EISDIR' && opts.ignoreDirectory)) return undefined;
    throw new ConfigError('CONFIG_INVALID', `Cannot read the ${what} ${path}: ${(e as Error).message}`, {
      facts: { reason: 'unreadable_file', path },
      cause: e,
    });
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory() && opts.ignoreDirectory) return undefined;
    if (!stat.isFile()) {
      throw new ConfigError('CONFIG_INVALID', `The ${what} ${path} is not a regular file (it is ${kindOf(stat)}); xtalk did not read it.`, {
        facts: { reason: 'not_a_file', path },
      });
    }
    if (stat.size > MAX_SETTINGS_FILE_BYTES) {
      throw new ConfigError(
        'CONFIG_INVALID',
        `The ${what} ${path} is larger than ${MAX_SETTINGS_FILE_BYTES / 1024} KiB (${stat.size} bytes); xtalk did not read it.`,
        {
          facts: { reason: 'file_too_large', what, path },
        },
      );
    }
    // One byte more than allowed tells a file that grew after fstat from one that fits.
    const buffer = Buffer.alloc(MAX_SETTINGS_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_SETTINGS_FILE_BYTES) {
        throw new ConfigError(
          'CONFIG_INVALID',
          `The ${what} ${path} is larger than ${MAX_SETTINGS_FILE_BYTES / 1024} KiB; xtalk did not read it.`,
          {
            facts: { reason: 'file_too_large', what, path },
          },
        );
      }
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function kindOf(stat: ReturnType<typeof fstatSync>): string {
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a folder';
  return 'not a file';
}
