import { basename, dirname, join } from 'node:path';
import type * as NodeUrl from 'node:url';

/**
 * A short-lived copy of a store's keychain data key in the Linux kernel's key retention service
 * (keyrings(7)), so `xtalk token` need not ask the Secret Service on every run: one system call
 * instead of a D-Bus conversation with a Diffie-Hellman exchange (README "Security", key cache).
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

/** The addon built from keyctl.c beside this file (dist/keyctl.node). */
export interface Keyctl {
  read(description: string): Buffer | null;
  store(description: string, payload: Buffer, seconds: number): boolean;
  forget(description: string): boolean;
  /** Forgets each key of ours named `prefix` + lowercase hex + `suffix`; how many, or -1. */
  forgetAll(prefix: string, suffix: string): number;
}

let addon: Keyctl | null | undefined;

/**
 * The kernel key cache with this lifetime (seconds; 0 turns it off), or undefined where there can be
 * none (not Linux). The addon is loaded on first use; when it is missing or cannot be loaded, every
 * call finds nothing and stores nothing. Turned off, `forget` still works: an entry made before the
 * setting changed must not outlive a logout.
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

/** What the key cache does here: nothing to speak of (not Linux), turned off, its addon missing, or on. */
export type KeyCacheState = 'none' | 'off' | 'no-addon' | 'on';

export function keyCacheState(seconds: number, platform: NodeJS.Platform): KeyCacheState {
  if (platform !== 'linux') return 'none';
  if (seconds <= 0) return 'off';
  return loadAddon() ? 'on' : 'no-addon';
}

/** The addon, loaded on first use; null where it is missing or cannot be loaded (./token-copy.ts too). */
export function loadAddon(): Keyctl | null {
  if (addon !== undefined) return addon;
  try {
    const module = { exports: {} as Keyctl };
    process.dlopen(module, addonPath());
    addon = module.exports;
  } catch {
    addon = null;
  }
  return addon;
}

/**
 * dist/keyctl.node, seen from this module wherever it is: dist/*.{js,cjs}, dist/chunks/*.js, or
 * src/store/keys/keychain/kernel-cache/*.ts (tests).
 */
function addonPath(): string {
  const self = import.meta.url;
  // In dist/quick.cjs this is the bundle's path (see scripts/build.mjs); elsewhere a file: URL.
  const file = self.startsWith('file:') ? (process.getBuiltinModule('node:url') as typeof NodeUrl).fileURLToPath(self) : self;
  const here = dirname(file);
  const dist =
    basename(here) === 'dist' ? here : basename(here) === 'chunks' ? dirname(here) : join(here, '..', '..', '..', '..', '..', 'dist');
  return join(dist, 'keyctl.node');
}
