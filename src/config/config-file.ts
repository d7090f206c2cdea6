import type * as NodeCrypto from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { ensurePrivateDir } from '../shared/private-files.js';
import { readSettingsFile } from './small-file.js';

/**
 * Rewrites `config.json` with `change` applied: 0600 in a 0700 folder, through a temporary file
 * and a rename, so a crash never leaves half a file and the secret is never world-readable.
 */
export function updateConfigFile(path: string, change: (current: Record<string, unknown>) => Record<string, unknown>): void {
  const next = change(readConfigFile(path));
  ensurePrivateDir(dirname(path));
  const tmp = `${path}.${(process.getBuiltinModule('node:crypto') as typeof NodeCrypto).randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

/** The config file as an object; a missing file is an empty one. */
export function readConfigFile(path: string): Record<string, unknown> {
  const text = readSettingsFile(path, 'config file');
  if (text === undefined) return {};
  // Editors on Windows save UTF-8 with a byte-order mark, which JSON.parse refuses.
  const json = text.replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    // Not the parser's message: it quotes the file, which may hold the client secret.
    throw new ConfigError('CONFIG_INVALID', `The config file ${path} is not a JSON object: the JSON is broken${jsonErrorPlace(json, e)}.`, {
      facts: BROKEN,
    });
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  throw new ConfigError('CONFIG_INVALID', `The config file ${path} is not a JSON object.`, { facts: BROKEN });
}

const BROKEN = { reason: 'broken_config_file' } as const;

/** " at line L, column C" from V8's "at position N", or less when the message has none. */
function jsonErrorPlace(text: string, e: unknown): string {
  const message = (e as Error).message;
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return /end of JSON input/.test(message) ? ' (it ends too early)' : '';
  const before = text.slice(0, Number(position)).split('\n');
  return ` at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}
