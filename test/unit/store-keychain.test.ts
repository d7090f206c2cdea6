import { afterEach, describe, expect, it, vi } from 'vitest';
import { KeychainError } from '../../src/errors.js';
import {
  createSystemKeychain,
  guardKeychain,
  KEYCHAIN_TIMEOUT_MS,
  KeychainUnavailableError,
} from '../../src/store/keys/keychain/system-keychain.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('guardKeychain', () => {
  it('gives up on a hanging call after 3 s by default and aborts it', async () => {
    expect(KEYCHAIN_TIMEOUT_MS).toBe(3000);
    vi.useFakeTimers();
    const fake = new FakeKeychain('hang');
    const result = guardKeychain(fake)
      .get('acct')
      .then(
        () => 'resolved',
        (e: unknown) => e,
      );
    await vi.advanceTimersByTimeAsync(2999);
    let settled = false;
    void result.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await result;
    expect(err).toBeInstanceOf(KeychainUnavailableError);
    expect(err).toMatchObject({ reason: 'timed out after 3 s', message: 'OS keychain unavailable: timed out after 3 s' });
    fake.verify();
  });

  it('passes values through and maps every failure to KeychainUnavailableError', async () => {
    const fake = new FakeKeychain();
    const port = guardKeychain(fake);
    await port.set('acct', 'secret');
    expect(await port.get('acct')).toBe('secret');
    expect(await port.get('other')).toBeNull();
    expect(await port.delete('acct')).toBe(true);
    expect(await port.delete('acct')).toBe(false);

    const cases: Array<[string, string]> = [
      [
        'Platform failure: DBus error: Failed to connect to socket /x: No such file or directory',
        'no D-Bus session bus (is DBUS_SESSION_BUS_ADDRESS set?)',
      ],
      [
        'org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files',
        'no Secret Service on the session bus',
      ],
      ["Couldn't access platform storage: Secret Service: unlock prompt was dismissed", 'the keyring is locked'],
      ['something odd', 'something odd'],
    ];
    fake.state = 'unavailable';
    for (const [failure, reason] of cases) {
      fake.failure = failure;
      const err = await port.get('acct').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeychainUnavailableError);
      expect(err).toBeInstanceOf(KeychainError);
      expect(err).toMatchObject({ reason, exitCode: 1 });
      expect((err as Error).cause).toBeInstanceOf(Error);
    }
  });

  it('wraps a port only once', () => {
    const port = guardKeychain(new FakeKeychain());
    expect(guardKeychain(port)).toBe(port);
  });
});

describe.runIf(process.platform === 'linux')('createSystemKeychain', () => {
  it('reports a missing session bus as unavailable, not as a crash', async () => {
    const host = { platform: 'linux' as const, env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/xtalk-test-bus' } };
    // xtalk's own bus conversation takes the address from `host`; the keychain library it falls
    // back to is native code that reads this process's environment itself.
    vi.stubEnv('DBUS_SESSION_BUS_ADDRESS', host.env.DBUS_SESSION_BUS_ADDRESS);
    const err = await createSystemKeychain({ host })
      .get(`xtalk-test-${process.pid}`)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeychainUnavailableError);
    expect((err as KeychainUnavailableError).reason).toBe('no D-Bus session bus (is DBUS_SESSION_BUS_ADDRESS set?)');
  });
});
