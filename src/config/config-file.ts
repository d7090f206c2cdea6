import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateDir } from '../store/db.js';
import { readConfigFile } from './resolve.js';

/**
 * Rewrites `config.json` with `change` applied: 0600 in a 0700 folder, through a temporary file
 * and a rename, so a crash never leaves half a file and the secret is never world-readable.
 */
export function updateConfigFile(path: string, change: (current: Record<string, unknown>) => Record<string, unknown>): void {
  const next = change(readConfigFile(path));
  ensurePrivateDir(dirname(path));
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}
