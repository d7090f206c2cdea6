import { loadKeyctl, type AddonLoad, type Keyctl } from './keyctl-addon.js';

/**
 * A short-lived copy of a store's keychain data key in the Linux kernel's key retention service
 * (keyrings(7)), so `xtalk token` need not ask the Secret Service on every run: one system call
 * instead of a D-Bus conversation with a Diffie-Hellman exchange (docs/security.md, key cache).
 *
 * The copy is a "user" key linked into the caller's session keyring (the login session's; the
 * user-session keyring where the session has none), so it ends with the session at the latest;
 * readable by this user's processes only (owner rights, no possessor rights: another user's process
 * that shares the session keyring after `su` gets nothing), held in kernel memory (never swapped or
 * written to a file), and removed by the kernel after `seconds` — counted from the read that stored
 * it, never extended by use, so a locked or changed keychain takes effect within that time.
 * `forget` removes it at once (logout, a new key).
 *
 * A process of another user that shares the session keyring may plant a key under the same name
 * first: the copy is therefore made in the thread keyring (no one else reaches it), given its
 * permissions and expiry there, and only then linked into the session keyring, which pushes a
 * planted key out; a key that is not this user's, with exactly those permissions, is never read.
 *
 * Best effort throughout: anything unavailable (not Linux, no addon, keyctl refused in a container)
 * means no cache, and the key comes from the keychain as before.
 */
export interface KeyCachePort {
  read(account: string): Buffer | null;
  store(account: string, key: Buffer): void;
  forget(account: string): void;
}

let loaded: AddonLoad | undefined;

/**
 * The kernel key cache with this lifetime (seconds; 0 turns it off), or undefined where there can be
 * none (not Linux). The addon (keyctl-addon.ts) is loaded on first use; when it is missing or cannot
 * be loaded, every call finds nothing and stores nothing (`doctor` says why). Turned off, `forget`
 * still works: an entry made before the setting changed must not outlive a logout.
 */
export function systemKeyCache(seconds: number, platform: NodeJS.Platform = process.platform): KeyCachePort | undefined {
  if (platform !== 'linux') return undefined;
  const on = seconds > 0;
  const description = (account: string) => `xtalk:${account}`;
  return {
    read: (account) => (on ? (loadAddon()?.read(description(account)) ?? null) : null),
    store: (account, key) => {
      if (on) loadAddon()?.store(description(account), key, Math.ceil(seconds));
    },
    forget: (account) => {
      loadAddon()?.forget(description(account));
    },
  };
}

/**
 * What the key cache does here: nothing to speak of (not Linux), turned off, on, or no addon for
 * this host (which, and why: `doctor` prints it).
 */
export type KeyCacheState =
  | { kind: 'none' }
  | { kind: 'off' }
  | { kind: 'on' }
  | ({ kind: 'no-addon' } & Omit<Extract<AddonLoad, { addon: null }>, 'addon'>);

export function keyCacheState(seconds: number, platform: NodeJS.Platform, load: () => AddonLoad = loadOnce): KeyCacheState {
  if (platform !== 'linux') return { kind: 'none' };
  if (seconds <= 0) return { kind: 'off' };
  const result = load();
  if (result.addon) return { kind: 'on' };
  const { addon: _none, ...why } = result;
  return { kind: 'no-addon', ...why };
}

function loadOnce(): AddonLoad {
  loaded ??= loadKeyctl();
  return loaded;
}

/** The addon, loaded on first use; null where there is none for this host or it cannot be loaded (./token-copy.ts too). */
export function loadAddon(): Keyctl | null {
  return loadOnce().addon;
}
