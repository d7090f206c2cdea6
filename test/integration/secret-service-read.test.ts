/**
 * The one-conversation read of the data key (src/store/keys/keychain/secret-service/secret-service-read.ts)
 * against a real gnome-keyring on a private bus: it decrypts what @napi-rs/keyring wrote, and leaves everything it does not
 * recognise (no entry, no service, a silent service) to the caller with the probe's reasons.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { askSecretService } from '../../src/store/keys/keychain/secret-service/secret-service-read.js';
import { createEarlyKeyReads } from '../../src/store/keys/early-key-read.js';
import { openStore } from '../../src/store/index.js';
import { createSystemKeychain, KEYCHAIN_SERVICE } from '../../src/store/keys/keychain/system-keychain.js';
import { canStartSecretService, startPrivateSecretService, type PrivateSecretService } from './private-secret-service.js';

const lookup = (account: string) => ({ service: KEYCHAIN_SERVICE, username: account });

describe.runIf(canStartSecretService || process.env.CI)('reading a secret in one D-Bus conversation', () => {
  let service: PrivateSecretService;
  let bare: PrivateSecretService;
  beforeAll(async () => {
    [service, bare] = await Promise.all([startPrivateSecretService(), startPrivateSecretService({ keyring: false })]);
  });
  afterEach(() => {
    service?.thaw();
    vi.unstubAllEnvs();
  });
  afterAll(async () => {
    await Promise.all([service?.stop(), bare?.stop()]);
  });

  it('decrypts the entry the keychain library wrote, for secrets of any length', async () => {
    vi.stubEnv('DBUS_SESSION_BUS_ADDRESS', service.address);
    const keychain = createSystemKeychain();
    // 16 bytes is a whole AES block: the padding adds a block of its own.
    for (const [i, secret] of ['x', '0123456789abcdef', 'GPP6tBA59deTyNYJec/aTi7ZS+qvLwwRvsgOz42toOA=', 'ünïcødé ✓'.repeat(20)].entries()) {
      const account = `data-key:/read-test/${i}`;
      await keychain.set(account, secret);
      expect(await askSecretService(service.address, AbortSignal.timeout(3000), lookup(account))).toEqual({ secret });
      // And through the port a store uses, which reads with this conversation first.
      expect(await createSystemKeychain().get(account)).toBe(secret);
      await keychain.delete(account);
    }
  });

  it('leaves a missing entry to the library (no secret, no problem); the port still answers null', async () => {
    vi.stubEnv('DBUS_SESSION_BUS_ADDRESS', service.address);
    expect(await askSecretService(service.address, AbortSignal.timeout(3000), lookup('data-key:/read-test/none'))).toEqual({});
    expect(await createSystemKeychain().get('data-key:/read-test/none')).toBeNull();
  });

  it('names a bus without a Secret Service like the probe does', async () => {
    expect(await askSecretService(bare.address, AbortSignal.timeout(3000), lookup('data-key:/read-test/0'))).toEqual({
      problem: 'no Secret Service on the session bus',
    });
  });

  it('a read started early serves the store opened next (as `xtalk token` does)', async () => {
    vi.stubEnv('DBUS_SESSION_BUS_ADDRESS', service.address);
    const home = mkdtempSync(join(tmpdir(), 'xtalk-early-read-'));
    try {
      const opts = {
        dbPath: join(home, 'xtalk.db'),
        keyFilePath: join(home, 'xtalk.key'),
        mode: 'keychain' as const,
        warn: (m: string) => expect.fail(m),
      };
      const first = openStore(opts);
      const now = Date.now();
      const account = await first.saveLogin(
        { issuer: 'https://id.test', sub: 'early', username: 'early', email: null, claims: {}, clientId: 'cli' },
        { accessToken: 'early-AT', tokenType: 'Bearer', scope: null, expiresAt: now + 60_000, refreshToken: null },
        now,
      );
      first.close();
      const early = createEarlyKeyReads({ env: { DBUS_SESSION_BUS_ADDRESS: service.address }, platform: process.platform });
      await early.start(opts.dbPath, 'keychain');
      const read = early.take(opts.dbPath);
      expect(read?.secret).toBeInstanceOf(Promise);
      const store = openStore({ ...opts, early: read });
      expect((await store.latestAccessToken(account.id))?.accessToken).toBe('early-AT');
      store.deleteAccount(account.id);
      await store.deleteDataKey();
      store.close();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('a frozen keyring: resolves when the signal aborts, saying the Secret Service does not answer', async () => {
    service.freeze();
    const started = performance.now();
    const answer = await askSecretService(service.address, AbortSignal.timeout(300), lookup('data-key:/read-test/0'));
    expect(answer).toEqual({ problem: 'the Secret Service (org.freedesktop.secrets) does not answer' });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
