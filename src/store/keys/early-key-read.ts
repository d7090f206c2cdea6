import type { CredentialStoreMode } from '../../core/oauth-terms.js';
import { systemKeyCache } from './keychain/kernel-cache/key-cache.js';
import { createSystemKeychain, type KeychainHost } from './keychain/system-keychain.js';
import { keychainAccount, type EarlyKeyRead } from './keychain-read.js';

/**
 * One run's early read of the data key (`xtalk token`, see Context.readKeyEarly): `start` sends
 * the keychain request before the store opens, `take` hands its answer to the store opened next.
 */
export interface EarlyKeyReads {
  /**
   * Starts reading the data key of the store at `dbPath` from the OS keychain (the Secret Service on
   * Linux) and resolves once the request has left, so the bus and the keyring answer while the
   * caller opens the store; the store uses the answer when it records a keychain key, and ignores it
   * otherwise. The read is the usual guarded one: same 3 s limit, same failures. Only where a session
   * bus is configured: elsewhere there is nothing to overlap. A copy of the key in the kernel key
   * cache (`keyCacheSeconds` > 0) replaces the read; the store checks that copy against its own
   * record before using it, and reads the keychain when it fails.
   */
  start(dbPath: string, mode: CredentialStoreMode, keyCacheSeconds?: number): Promise<void>;
  /** The read started for `dbPath`, once (for the store's `early` option). */
  take(dbPath: string): EarlyKeyRead | undefined;
}

/** The early reads of one run on `host` (the Context's env and platform). */
export function createEarlyKeyReads(host: KeychainHost): EarlyKeyReads {
  const reads = new Map<string, EarlyKeyRead>();
  return {
    async start(dbPath, mode, keyCacheSeconds = 0) {
      if (mode === 'file' || host.platform === 'darwin' || host.platform === 'win32' || !host.env.DBUS_SESSION_BUS_ADDRESS) return;
      const account = keychainAccount(dbPath);
      const cached = systemKeyCache(keyCacheSeconds, host.platform)?.read(account) ?? null;
      if (cached) {
        reads.set(dbPath, { account, cached, secret: undefined });
        return;
      }
      const secret = createSystemKeychain({ host }).get(account);
      // Unused when the store turns out to keep its key in a file; its failure then matters to nobody.
      secret.catch(() => undefined);
      reads.set(dbPath, { account, cached: null, secret });
      // Node sends on a new socket only once the event loop turns.
      await new Promise((resolve) => setImmediate(resolve));
    },
    take(dbPath) {
      const early = reads.get(dbPath);
      reads.delete(dbPath);
      return early;
    },
  };
}
