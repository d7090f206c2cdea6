import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEarlyKeyReads } from '../../src/store/keys/early-key-read.js';
import { keychainAccount } from '../../src/store/index.js';

const dbPath = join(tmpdir(), 'xtalk-early-key-read', 'xtalk.db');
// A session bus that is not there: the read starts, and fails like any keychain call would.
const NO_BUS = 'unix:path=/nonexistent/xtalk-test-bus';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the early key read of one run', () => {
  it('asks the keychain on the bus of the env it is given, not on the process environment', async () => {
    vi.stubEnv('DBUS_SESSION_BUS_ADDRESS', '');
    const reads = createEarlyKeyReads({ env: { DBUS_SESSION_BUS_ADDRESS: NO_BUS }, platform: 'linux' });
    await reads.start(dbPath, 'keychain');
    const read = reads.take(dbPath);
    expect(read).toMatchObject({ account: keychainAccount(dbPath), cached: null });
    await expect(read?.secret).rejects.toThrow(/keychain/i);
    // Used once, and by this run only.
    expect(reads.take(dbPath)).toBeUndefined();
  });

  it('starts nothing without a session bus in its env, even when the process has one', async () => {
    vi.stubEnv('DBUS_SESSION_BUS_ADDRESS', NO_BUS);
    const reads = createEarlyKeyReads({ env: {}, platform: 'linux' });
    await reads.start(dbPath, 'keychain');
    expect(reads.take(dbPath)).toBeUndefined();
  });

  it('starts nothing for the file store, on macOS or Windows, and shares nothing between runs', async () => {
    const env = { DBUS_SESSION_BUS_ADDRESS: NO_BUS };
    const linux = createEarlyKeyReads({ env, platform: 'linux' });
    await linux.start(dbPath, 'file');
    expect(linux.take(dbPath)).toBeUndefined();
    for (const platform of ['darwin', 'win32'] as const) {
      const reads = createEarlyKeyReads({ env, platform });
      await reads.start(dbPath, 'auto');
      expect(reads.take(dbPath)).toBeUndefined();
    }
    await linux.start(dbPath, 'auto');
    expect(createEarlyKeyReads({ env, platform: 'linux' }).take(dbPath)).toBeUndefined();
    const read = linux.take(dbPath);
    expect(read?.account).toBe(keychainAccount(dbPath));
    await expect(read?.secret).rejects.toThrow();
  });
});
