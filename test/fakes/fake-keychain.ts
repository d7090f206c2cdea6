import type { KeychainPort } from '../../src/store/keys/keychain/system-keychain.js';

export type FakeKeychainState = 'available' | 'unavailable' | 'hang';

export interface KeychainCall {
  op: 'get' | 'set' | 'delete';
  account: string;
}

/**
 * An in-memory OS keychain. It can fail like a missing Secret Service or hang like a stuck one,
 * and `verify()` fails the test when it was used against the test's expectations: called after
 * `forbidCalls()`, or left hanging without its caller ever aborting.
 */
export class FakeKeychain implements KeychainPort {
  readonly entries = new Map<string, string>();
  readonly calls: KeychainCall[] = [];
  state: FakeKeychainState;
  failure = 'Platform failure: DBus error: Failed to connect to socket /run/user/0/bus: No such file or directory';
  #forbidden = false;
  #hanging = 0;
  #abortedHangs = 0;

  constructor(state: FakeKeychainState = 'available') {
    this.state = state;
  }

  /** Any later call is a test failure, reported by verify() (callers may swallow the throw). */
  forbidCalls(): this {
    this.#forbidden = true;
    return this;
  }

  get(account: string, signal?: AbortSignal): Promise<string | null> {
    return this.#call({ op: 'get', account }, signal, () => this.entries.get(account) ?? null);
  }

  set(account: string, secret: string, signal?: AbortSignal): Promise<void> {
    return this.#call({ op: 'set', account }, signal, () => void this.entries.set(account, secret));
  }

  delete(account: string, signal?: AbortSignal): Promise<boolean> {
    return this.#call({ op: 'delete', account }, signal, () => this.entries.delete(account));
  }

  /** Throws when the fake was used in a way the test did not allow. */
  verify(): void {
    if (this.#forbidden && this.calls.length > 0) {
      throw new Error(`FakeKeychain: expected no calls, got ${this.calls.map((c) => `${c.op}(${c.account})`).join(', ')}`);
    }
    if (this.#hanging > this.#abortedHangs) {
      throw new Error(`FakeKeychain: ${this.#hanging - this.#abortedHangs} hanging call(s) were never aborted by the caller`);
    }
  }

  async #call<T>(call: KeychainCall, signal: AbortSignal | undefined, act: () => T): Promise<T> {
    this.calls.push(call);
    if (this.#forbidden) throw new Error(`FakeKeychain: unexpected ${call.op}(${call.account})`);
    if (this.state === 'unavailable') throw Object.assign(new Error(this.failure), { code: 'GenericFailure' });
    if (this.state === 'hang') {
      this.#hanging++;
      return new Promise<T>((_, reject) => {
        signal?.addEventListener('abort', () => {
          this.#abortedHangs++;
          reject(new Error('aborted'));
        });
      });
    }
    return act();
  }
}
