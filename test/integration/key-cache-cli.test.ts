/**
 * The kernel key cache through the built CLI (`npm run build` first), against a gnome-keyring on a
 * private D-Bus session and the machine's real session keyring: `xtalk token` reads the keychain
 * once and then its copy, so a keyring that stops answering does not stop it while the copy lives;
 * with the cache turned off the same keyring trouble gives up within the 3 s limit with the same
 * message as always; logout removes the copy.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keychainAccount } from '../../src/store/keys/keychain-read.js';
import { systemKeyCache } from '../../src/store/keys/keychain/kernel-cache/key-cache.js';
import { importTrace } from '../e2e/offline-session.js';
import { loginCli, runXtalk, type CliEnv } from '../e2e/xtalk-process.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { canStartSecretService, keychainCall, startPrivateSecretService, type PrivateSecretService } from './private-secret-service.js';

const LIMIT_MS = 5000;

describe.runIf(process.platform === 'linux' && (canStartSecretService || process.env.CI))(
  'xtalk token with the kernel key cache (real gnome-keyring)',
  () => {
    let provider: TestProvider;
    let secretService: PrivateSecretService;
    let scratch: string;
    beforeAll(async () => {
      [provider, secretService] = await Promise.all([startTestProvider(), startPrivateSecretService()]);
      scratch = mkdtempSync(join(tmpdir(), 'xtalk-key-cache-cli-'));
    });
    afterEach(() => secretService?.thaw());
    afterAll(async () => {
      await Promise.all([provider?.stop(), secretService?.stop()]);
      rmSync(scratch, { recursive: true, force: true });
    });

    const env = (home: string, extra: CliEnv = {}): CliEnv => ({
      XTALK_HOME: home,
      XTALK_ISSUER: provider.issuer,
      XTALK_CLIENT_ID: provider.confidentialClient.clientId,
      XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
      XTALK_CREDENTIAL_STORE: 'keychain',
      DBUS_SESSION_BUS_ADDRESS: secretService.address,
      ...extra,
    });

    it('one keychain read, then the copy; turned off, a frozen keyring times out as before; logout removes the copy', async () => {
      const home = mkdtempSync(join(scratch, 'home-'));
      await loginCli(env(home), 'cached');
      const account = keychainAccount(join(home, 'xtalk.db'));
      const cache = systemKeyCache(600)!;
      expect(cache.read(account), 'a login leaves no copy').toBeNull();

      const first = await runXtalk(['token'], env(home));
      expect(first.code, first.stderr).toBe(0);
      const key = Buffer.from(keychainCall(secretService.address, 'get', account) as string, 'base64');
      expect(key).toHaveLength(32);
      expect(cache.read(account), 'the read kept a copy of the keychain key').toEqual(key);

      // The keychain no longer answers; the copy does, without a socket or the keychain library.
      secretService.freeze();
      const trace = importTrace();
      const second = await runXtalk(['token'], env(home, trace.env));
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      expect(second.ms).toBeLessThan(LIMIT_MS);
      const loaded = readFileSync(trace.file, 'utf8').split('\n');
      expect(loaded).toContain('node:crypto');
      expect(loaded, 'no D-Bus socket').not.toContain('node:net');
      expect(
        loaded.filter((l) => l.includes('@napi-rs')),
        'no keychain library',
      ).toEqual([]);

      // Turned off: the copy is not read, and the frozen keyring is met with the usual limit and words.
      const off = await runXtalk(['token'], env(home, { XTALK_KEY_CACHE_SECONDS: '0' }));
      expect(off.code, off.stderr).toBe(1);
      expect(off.stderr).toContain(
        `✗ the data key of ${join(home, 'xtalk.db')} is kept in the OS keychain, which is unavailable: timed out after 3 s`,
      );
      expect(off.ms).toBeLessThan(LIMIT_MS);

      secretService.thaw();
      const logout = await runXtalk(['logout'], env(home));
      expect(logout.code, logout.stderr).toBe(0);
      expect(cache.read(account), 'logout removed the copy').toBeNull();
      expect(keychainCall(secretService.address, 'get', account)).toBeNull();
    }, 60_000);
  },
);
