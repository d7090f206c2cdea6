import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemKeychain, openStore } from '../../src/store/index.js';

// CI must exercise the real Secret Service; a developer machine without a session bus may skip.
const hasBus = Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);

if (!hasBus && process.env.CI) {
  it('needs a D-Bus session with a Secret Service in CI', () => {
    throw new Error(
      "DBUS_SESSION_BUS_ADDRESS is not set. Run under: dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; npm test'",
    );
  });
}

describe.runIf(hasBus)('the real OS keychain (Secret Service)', () => {
  const keychain = createSystemKeychain();
  const account = `xtalk-test:${process.pid}:${Date.now()}`;
  let home: string;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'xtalk-keychain-real-'));
  });

  afterAll(async () => {
    await keychain.delete(account).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  });

  it('sets, gets and deletes an entry', async () => {
    expect(await keychain.get(account)).toBeNull();
    await keychain.set(account, 'first secret');
    await keychain.set(account, 'second secret');
    expect(await keychain.get(account)).toBe('second secret');
    expect(await keychain.delete(account)).toBe(true);
    expect(await keychain.get(account)).toBeNull();
    expect(await keychain.delete(account)).toBe(false);
  });

  it('keeps the data key of a store in the keychain', async () => {
    const opts = {
      dbPath: join(home, 'xtalk.db'),
      keyFilePath: join(home, 'data.key'),
      mode: 'keychain' as const,
      warn: (m: string) => expect.fail(m),
    };
    const store = openStore(opts);
    const now = Date.now();
    const account = await store.saveLogin(
      { issuer: 'https://id.test', sub: 'sub-1', username: 'alice', email: null, claims: {}, clientId: 'cli' },
      { accessToken: 'real-keychain-AT', tokenType: 'Bearer', scope: 'openid', expiresAt: now + 60_000, refreshToken: 'real-keychain-RT' },
      now,
    );
    expect(store.credentialStore()).toBe('keychain');
    store.close();

    const reopened = openStore(opts);
    try {
      expect((await reopened.latestAccessToken(account.id))?.accessToken).toBe('real-keychain-AT');
      expect((await reopened.refreshToken(account.id))?.refreshToken).toBe('real-keychain-RT');
      reopened.deleteAccount(account.id);
      await reopened.deleteDataKey();
      expect(reopened.credentialStore()).toBeNull();
    } finally {
      reopened.close();
    }
  });
});
