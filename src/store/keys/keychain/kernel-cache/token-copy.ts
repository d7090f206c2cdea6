import { realpathSync, statSync } from 'node:fs';
import type { TokenCopyFill, TokenCopyPort, XtalkPaths } from '../../../../core/context.js';
import type { StoredAccessToken } from '../../../../core/session-records.js';
import { escapeTerminalText } from '../../../../core/terminal-text.js';
import { loadAddon } from './key-cache.js';

/**
 * The native launcher's copy of the access token (src/launcher/xtalk-launcher.c, README "Security"):
 * after `xtalk token` has read or refreshed a token, a "user" key in the session keyring — made as
 * the data-key cache makes its own (keyctl.c: in the thread keyring first, owner-only permissions,
 * then linked in, displacing a key another user planted) — holds the token, its type and expiry, and
 * a stamp of what it was read from, so that the launcher prints it without starting Node.
 *
 * Its name is `xtalk:token:<the --account value in hex, empty for the current account>:<the store's
 * folder, symbolic links resolved>`, so two stores (two XTALK_HOMEs) never share one. The stamp, taken
 * before the store is read, is what the launcher checks on every run: the XTALK_* variables (a hash),
 * and the identity, size and times of xtalk.db, xtalk.db-wal and config.json. Any write to the
 * store (a refresh by any process, the Node API's included) or to config.json, or another setting,
 * and the launcher hands the run to Node, which makes a new copy. `login`, `switch`, `logout` and
 * `refresh` also remove every copy of their store at once.
 *
 * The kernel removes the copy when the token enters its refresh margin (the default one; a larger
 * `--min-ttl` is checked by the launcher) or after XTALK_KEY_CACHE_SECONDS, whichever comes first: as
 * for the data key, a locked keychain takes effect within that time. 0 turns the copy off.
 */
export function systemTokenCopy(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
  now: () => number = Date.now,
): TokenCopyPort | undefined {
  if (platform !== 'linux') return undefined;
  return {
    begin(paths, seconds) {
      if (seconds <= 0) return undefined;
      const folder = storeFolder(paths);
      if (folder === undefined || PATH_VARIABLES.some((name) => hasDotDot(env[name]))) return undefined;
      const stamp = stampOf(env, folder, paths.configFile);
      return stamp === undefined ? undefined : filler(folder, stamp, seconds, now);
    },
    forget(paths) {
      const folder = storeFolder(paths);
      if (folder !== undefined) loadAddon()?.forgetAll(PREFIX, `:${folder}`);
    },
  };
}

const PREFIX = 'xtalk:token:';
const MAGIC = 'xtalk-token-copy 1';
/** What src/config/paths.ts builds the folders from; the launcher leaves a `..` in them to Node. */
const PATH_VARIABLES = ['XTALK_HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'HOME', 'USERPROFILE'] as const;

function filler(folder: string, stamp: string, maxSeconds: number, now: () => number): TokenCopyFill {
  return {
    fill(account, token, endsAt) {
      const t: Pick<StoredAccessToken, 'accessToken' | 'tokenType' | 'expiresAt' | 'createdAt'> = token;
      if (/[\n\0]/.test(t.accessToken + t.tokenType) || !t.accessToken || !t.tokenType) return;
      // The launcher prints the copy as it is; the JavaScript path escapes what may not reach a
      // terminal (core/terminal-text.ts). A token that rule would change is not copied, so both print the same.
      if (escapeTerminalText(t.accessToken) !== t.accessToken || escapeTerminalText(t.tokenType) !== t.tokenType) return;
      const seconds = Math.min(Math.floor(maxSeconds), Math.floor((endsAt - now()) / 1000));
      if (!(seconds > 0)) return;
      const payload = Buffer.from(
        [MAGIC, Math.trunc(t.expiresAt), Math.trunc(t.createdAt), stamp, t.tokenType, t.accessToken].join('\n'),
        'utf8',
      );
      try {
        loadAddon()?.store(tokenCopyName(account, folder), payload, seconds);
      } finally {
        payload.fill(0);
      }
    },
  };
}

/** The copy's name for `--account <account>` (undefined: the current account) in the store's folder. */
export function tokenCopyName(account: string | undefined, folder: string): string {
  return `${PREFIX}${Buffer.from(account ?? '', 'utf8').toString('hex')}:${folder}`;
}

/** The store's folder with symbolic links resolved; undefined when it cannot be (no store yet). */
export function storeFolder(paths: Pick<XtalkPaths, 'dataDir'>): string | undefined {
  try {
    return realpathSync.native(paths.dataDir);
  } catch {
    return undefined;
  }
}

function hasDotDot(value: string | undefined): boolean {
  return value !== undefined && value.split('/').includes('..');
}

/** As the launcher computes it (xtalk-launcher.c `serve`); undefined when a file cannot be looked at. */
export function stampOf(env: Readonly<Record<string, string | undefined>>, folder: string, configFile: string): string | undefined {
  try {
    return `e${envHash(env)} d${fileStamp(`${folder}/xtalk.db`)} w${fileStamp(`${folder}/xtalk.db-wal`)} c${fileStamp(configFile)}`;
  } catch {
    return undefined;
  }
}

function fileStamp(path: string): string {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  return s ? `${s.dev}.${s.ino}.${s.size}.${s.mtimeNs}.${s.ctimeNs}` : '-';
}

/** FNV-1a (64 bits) of "NAME=VALUE\0" for every XTALK_* variable, by name (bytes). A change check. */
function envHash(env: Readonly<Record<string, string | undefined>>): string {
  const names = Object.keys(env)
    .filter((name) => name.startsWith('XTALK_') && env[name] !== undefined)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let hash = 0xcbf29ce484222325n;
  for (const name of names) {
    for (const byte of Buffer.from(`${name}=${env[name]}\0`, 'utf8')) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}
