import type { Keychain } from '../../../core/ports.js';
import { KeychainError } from '../../../errors.js';
// Static, not lazy: the read must be able to start before the caller's next synchronous work.
import { askSecretService, checkSecretService } from './secret-service/secret-service-read.js';

/** Service name of every xtalk entry in the OS keychain. */
export const KEYCHAIN_SERVICE = 'xtalk';
/** A keychain call that has not answered by then is treated as "no keychain". */
export const KEYCHAIN_TIMEOUT_MS = 3000;

/**
 * The OS keychain as the store sees it: the core's Keychain port (src/core/ports.ts). The signal
 * every call gets comes from {@link guardKeychain}.
 */
export type KeychainPort = Keychain;

/** The keychain failed, was locked or did not answer in time; `reason` says which, for messages. */
export class KeychainUnavailableError extends KeychainError {
  readonly reason: string;
  constructor(reason: string, opts: { cause?: unknown; timedOut?: boolean } = {}) {
    super('KEYCHAIN_UNAVAILABLE', `OS keychain unavailable: ${reason}`, { cause: opts.cause, facts: { timedOut: opts.timedOut } });
    this.reason = reason;
  }
}

const guarded = new WeakSet<KeychainPort>();

/**
 * Wraps a port so every call gives up after `timeoutMs` (aborting its signal) and every failure
 * becomes a {@link KeychainUnavailableError}. Wrapping twice is a no-op.
 */
export function guardKeychain(port: KeychainPort, timeoutMs = KEYCHAIN_TIMEOUT_MS): KeychainPort {
  if (guarded.has(port)) return port;
  const wrapped: KeychainPort = {
    get: (account) => bounded(timeoutMs, (signal) => port.get(account, signal)),
    set: (account, secret) => bounded(timeoutMs, (signal) => port.set(account, secret, signal)),
    delete: (account) => bounded(timeoutMs, (signal) => port.delete(account, signal)),
  };
  guarded.add(wrapped);
  return wrapped;
}

/** What the keychain depends on outside the process's memory: the platform and the session bus. */
export interface KeychainHost {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * The platform keychain (macOS Keychain, Windows Credential Manager, Secret Service on Linux),
 * loaded on first use so commands that never touch it don't pay for the native module. `host`
 * comes from the Context (the caller's env and platform); without it, this process's.
 */
export function createSystemKeychain(opts: { timeoutMs?: number; host?: KeychainHost } = {}): KeychainPort {
  const host = opts.host ?? { platform: process.platform, env: process.env };
  const busAddress = host.env.DBUS_SESSION_BUS_ADDRESS;
  const secretService = usesSecretService(host.platform);
  let busCheck: Promise<string | undefined> | undefined;
  const entry = async (account: string, signal: AbortSignal | undefined) => {
    if (secretService) {
      // The library would block this thread on a bus that never answers; ask without blocking first.
      const problem = await (busCheck ??= checkSecretService(busAddress, signal));
      if (problem) throw new KeychainUnavailableError(problem);
    }
    return libraryEntry(account);
  };
  const get = async (account: string, signal: AbortSignal | undefined) => {
    if (secretService && !busCheck) {
      // The common read in one non-blocking conversation that also serves as the probe; anything
      // unusual (no such item, several, locked) is left to the library, as before.
      const answer = askSecretService(busAddress, signal, { service: KEYCHAIN_SERVICE, username: account });
      busCheck = answer.then((a) => a.problem);
      const { problem, secret } = await answer;
      if (problem) throw new KeychainUnavailableError(problem);
      if (secret !== undefined) return secret;
      if (signal?.aborted) throw new KeychainUnavailableError('aborted');
    }
    return (await entry(account, signal)).getPassword(signal);
  };
  return guardKeychain(
    {
      get,
      set: async (account, secret, signal) => (await entry(account, signal)).setPassword(secret, signal),
      delete: async (account, signal) => (await entry(account, signal)).deleteCredential(signal),
    },
    opts.timeoutMs,
  );
}

/** Linux and the other Unixes: the Secret Service on D-Bus, asked first without blocking; macOS and Windows: the library only. */
export function usesSecretService(platform: NodeJS.Platform): boolean {
  return platform !== 'darwin' && platform !== 'win32';
}

async function libraryEntry(account: string) {
  const { AsyncEntry } = await import('@napi-rs/keyring');
  // Unpinned, Linux silently falls back to the kernel keyring, which forgets everything on reboot.
  return new AsyncEntry(KEYCHAIN_SERVICE, account, { linux: { store: 'secret-service' } });
}

async function bounded<T>(timeoutMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new KeychainUnavailableError(`timed out after ${formatSeconds(timeoutMs)}`, { timedOut: true }));
    }, timeoutMs);
  });
  try {
    // Started at once (a synchronous throw becomes a rejection): an early read must be on its way
    // before the caller's next synchronous work.
    const pending = (async () => call(controller.signal))();
    // The loser of the race may still reject later; that is expected, not unhandled.
    pending.catch(() => undefined);
    return await Promise.race([pending, timeout]);
  } catch (e) {
    if (e instanceof KeychainUnavailableError) throw e;
    throw new KeychainUnavailableError(describeFailure(e), { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

function describeFailure(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/ServiceUnknown|org\.freedesktop\.secrets|was not provided by any \.service/i.test(message)) {
    return 'no Secret Service on the session bus';
  }
  if (/DBus error|DBUS_SESSION_BUS_ADDRESS|Failed to connect to socket/i.test(message)) {
    return 'no D-Bus session bus (is DBUS_SESSION_BUS_ADDRESS set?)';
  }
  if (/prompt was dismissed|locked/i.test(message)) return 'the keyring is locked';
  if (/Cannot find (module|package)/i.test(message)) return 'the keychain module could not be loaded';
  return message;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
