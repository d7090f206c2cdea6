import { getFreshToken } from '../auth/refresh/fresh-token.js';
import { isFresh } from '../auth/refresh/min-ttl.js';
import { selectAccount } from '../auth/select-account.js';
import { resolveConfigRemembered } from '../config/remembered-config.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { AccountRecord, StoredAccessToken } from '../core/session-records.js';
import { fileStamp } from '../shared/file-stamp.js';
import { storeVersion } from '../store/index.js';
import { forProgram } from './hints.js';
import { withStore } from './open-session.js';
import { CancelledError } from '../errors.js';
import type { SessionOptions } from './options.js';

/** A call's settings, account and valid access token. */
export interface SessionToken {
  config: ResolvedConfig;
  account: AccountRecord;
  token: StoredAccessToken;
}

export interface TokenWish {
  minTtlSeconds?: number | undefined;
  /** A token a server just refused: always read and refreshed through the store (see FreshTokenInput). */
  rejected?: string;
  /** Runs before a token is taken or refreshed (createFetch's destination check); what it throws ends the call. */
  check?: (config: ResolvedConfig, account: AccountRecord) => void;
}

/** What the store and the data key file were when an answer was read (storeVersion, fileStamp). */
interface Stamp {
  store: string;
  keyFile: string;
}

interface Remembered extends SessionToken {
  stamp: Stamp;
}

/** The last answer per store, key file, credential store and account selector. */
const remembered = new Map<string, Remembered>();

/**
 * The account and a valid access token, as `getFreshToken` gives them — from memory when nothing
 * they were read from can have changed since: the settings (resolveConfigRemembered), the store (a
 * write by any process, or the file deleted or replaced: storeVersion) and the data key file
 * (fileStamp; xtalk only ever replaces or deletes it whole). So a login, logout, `switch` or refresh by the CLI or another program between two
 * calls is seen by the next one, which reads the store again (and refreshes under the same
 * cross-process single flight when the token is too old). A token that is no longer fresh enough
 * for `minTtlSeconds` is never answered from memory.
 */
export async function sessionToken(opts: SessionOptions & { signal?: AbortSignal | undefined }, wish: TokenWish): Promise<SessionToken> {
  // An aborted call ends as it would through the store, also when memory has the answer.
  if (opts.signal?.aborted) throw forProgram(new CancelledError('CANCELLED', 'Cancelled.'));
  const hit = wish.rejected === undefined ? recall(opts, wish.minTtlSeconds) : undefined;
  if (hit) {
    try {
      wish.check?.(hit.config, hit.account);
    } catch (e) {
      throw forProgram(e);
    }
    return hit;
  }
  // Before the store is opened (the call's own connection creates a -wal) and read: a write by
  // anyone after this shows as a change next time.
  const before = stampBefore(opts);
  return withStore(opts, async (run) => {
    const config = run.config();
    const stamp = before?.config === config ? before.stamp : undefined;
    const account = selectAccount(run.store(), opts.account);
    wish.check?.(config, account);
    const token = await getFreshToken(run, { account, minTtlSeconds: wish.minTtlSeconds, rejected: wish.rejected });
    const key = keyOf(config, opts.account);
    if (stamp) remembered.set(key, { config, account, token, stamp });
    else remembered.delete(key);
    return { config, account, token };
  });
}

function stampBefore(opts: SessionOptions): { config: ResolvedConfig; stamp: Stamp | undefined } | undefined {
  try {
    const config = settingsOf(opts);
    return { config, stamp: stampOf(config) };
  } catch {
    // Met again, and reported, on the way through the store.
    return undefined;
  }
}

function settingsOf(opts: SessionOptions): ResolvedConfig {
  return resolveConfigRemembered({ env: opts.env ?? process.env, cwd: opts.cwd ?? process.cwd(), platform: process.platform });
}

function recall(opts: SessionOptions, minTtlSeconds: number | undefined): SessionToken | undefined {
  try {
    const now = Date.now();
    const config = settingsOf(opts);
    const key = keyOf(config, opts.account);
    const last = remembered.get(key);
    if (!last || last.config !== config || !isFresh(last.token, now, minTtlSeconds)) return undefined;
    const stamp = stampOf(config, now);
    if (stamp?.store === last.stamp.store && stamp.keyFile === last.stamp.keyFile) return last;
    remembered.delete(key);
  } catch {
    // Whatever went wrong is met again, and reported, on the way through the store.
  }
  return undefined;
}

function stampOf(config: ResolvedConfig, now = Date.now()): Stamp | undefined {
  const store = storeVersion(config.paths.dbPath, now);
  const keyFile = store === undefined ? undefined : fileStamp(config.paths.keyFilePath, now, { writtenInPlace: false });
  return store === undefined || keyFile === undefined ? undefined : { store, keyFile };
}

function keyOf(config: ResolvedConfig, selector: string | undefined): string {
  return [config.paths.dbPath, config.paths.keyFilePath, config.credentialStore, selector ?? ''].join('\0');
}
