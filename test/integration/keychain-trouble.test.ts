/**
 * Keychain trouble: no Secret Service, a Secret Service that never answers, a key entry deleted
 * behind xtalk's back. Each ends within 5 s with a clear message (or the documented fallback to a
 * key file with a warning), never a hang, and never a key file or a plaintext token where the user
 * asked for the keychain. Through the built CLI (`npm run build` first) against a D-Bus session and
 * gnome-keyring of the test's own, and in-process against the fake keychain.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keychainAccount } from '../../src/store/keys/keychain-read.js';
import { KeychainError, SessionExpiredError } from '../../src/errors.js';
import { openStore } from '../../src/store/index.js';
import type { SessionIdentity } from '../../src/core/session-records.js';
import type { TokenGrant } from '../../src/core/oauth-terms.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { recordSecrets, type SecretRecorder } from '../provider/secret-recorder.js';
import { completeSignIn, inspectStore, loginCli, runXtalk, spawnCli, type CliEnv } from '../e2e/xtalk-process.js';
import { canStartSecretService, keychainCall, startPrivateSecretService, type PrivateSecretService } from './private-secret-service.js';

/** The issue's bound for any keychain trouble; xtalk's own per-call limit is 3 s. */
const LIMIT_MS = 5000;
const timings: string[] = [];

let provider: TestProvider;
let recorder: SecretRecorder;
let scratch: string;

beforeAll(async () => {
  provider = await startTestProvider();
  recorder = recordSecrets(provider);
  scratch = mkdtempSync(join(tmpdir(), 'xtalk-keychain-trouble-'));
});
afterAll(async () => {
  await provider?.stop();
  rmSync(scratch, { recursive: true, force: true });
  if (timings.length) console.info(`keychain trouble, wall times:\n${timings.map((t) => `  ${t}`).join('\n')}`);
});

function cliEnv(home: string, extra: CliEnv): CliEnv {
  return {
    XTALK_HOME: home,
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
    ...extra,
  };
}

function newHome(): string {
  return mkdtempSync(join(scratch, 'home-'));
}

/** Login through the CLI; resolves with the result and the time from the delivered callback to exit. */
async function timedLogin(
  env: CliEnv,
  login: string,
): Promise<{ code: number | null; stderr: string; afterCallbackMs: number; ms: number }> {
  const cli = spawnCli(['login', '--no-browser'], env, 60_000);
  await completeSignIn(cli, login);
  const callbackAt = performance.now();
  const r = await cli.done;
  return { code: r.code, stderr: r.stderr, afterCallbackMs: r.endedAt - callbackAt, ms: r.ms };
}

/** Nothing a failed keychain login could have left: no key file, no token, no plaintext anywhere in XTALK_HOME. */
async function expectNothingStored(home: string, when: string): Promise<void> {
  expect(existsSync(join(home, 'xtalk.key')), `${when}: no key file`).toBe(false);
  const s = await inspectStore(home);
  expect(s.integrity).toBe('ok');
  expect(s.refreshTokenRows + s.accessTokenRows, `${when}: no token rows`).toBe(0);
  expect(s.users, `${when}: no account`).toEqual([]);
  expect(s.credentialStore, `${when}: no key recorded`).toBeNull();
  const tokens = recorder.values().filter((v) => v.length >= 16);
  expect(tokens.length).toBeGreaterThan(0);
  for (const file of readdirSync(home)) {
    const bytes = readFileSync(join(home, file));
    for (const t of tokens) expect(bytes.includes(t), `${when}: a provider secret in ${file}`).toBe(false);
  }
}

describe('no Secret Service (the session bus socket does not exist)', () => {
  const noBus = () => ({ DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(scratch, 'no-such-bus')}` });

  it('default store: login falls back to a 0600 key file with the documented warning', async () => {
    const home = newHome();
    const env = cliEnv(home, noBus());
    const r = await timedLogin(env, 'no-bus-auto');
    timings.push(`no bus, default store, login: ${r.afterCallbackMs.toFixed(0)} ms after the callback`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `! No OS keychain available (no D-Bus session bus (is DBUS_SESSION_BUS_ADDRESS set?)); keeping the key in ${join(home, 'xtalk.key')} (0600). Set XTALK_CREDENTIAL_STORE=keychain to make this an error.`,
    );
    expect(r.afterCallbackMs).toBeLessThan(LIMIT_MS);
    expect(statSync(join(home, 'xtalk.key')).mode & 0o777).toBe(0o600);
    const status = await runXtalk(['status', '--json'], env);
    expect(JSON.parse(status.stdout)[0]).toMatchObject({ sub: 'no-bus-auto', credential_store: 'file' });
    const token = await runXtalk(['token'], env);
    expect(token.code, token.stderr).toBe(0);
    // The file store is recorded: later commands never touch the keychain nor warn again.
    expect(token.stderr).toBe('');
  });

  it('XTALK_CREDENTIAL_STORE=keychain: login fails with the reason, exit 1, nothing written', async () => {
    const home = newHome();
    const r = await timedLogin(cliEnv(home, { ...noBus(), XTALK_CREDENTIAL_STORE: 'keychain' }), 'no-bus-keychain');
    timings.push(`no bus, keychain store, login: ${r.afterCallbackMs.toFixed(0)} ms after the callback`);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /✗ OS keychain unavailable: no D-Bus session bus \(is DBUS_SESSION_BUS_ADDRESS set\?\)\n\s+hint: .*XTALK_CREDENTIAL_STORE=file/,
    );
    expect(r.stderr).not.toMatch(/Unexpected error|keeping the key in/);
    expect(r.afterCallbackMs).toBeLessThan(LIMIT_MS);
    await expectNothingStored(home, 'no bus, keychain store');
  });
});

describe('a Secret Service that never answers', () => {
  let hungBus: Server;
  const sockets = new Set<Socket>();
  let address: string;

  beforeAll(async () => {
    // Accepts the connection, reads whatever comes, never writes a byte.
    const path = join(scratch, 'hung-bus');
    hungBus = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {});
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hungBus.listen(path, resolve));
    address = `unix:path=${path}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => hungBus.close(r));
  });

  it('XTALK_CREDENTIAL_STORE=keychain: login gives up after 3 s with the reason, exit 1, nothing written', async () => {
    const home = newHome();
    const r = await timedLogin(cliEnv(home, { DBUS_SESSION_BUS_ADDRESS: address, XTALK_CREDENTIAL_STORE: 'keychain' }), 'hung-keychain');
    timings.push(`silent bus, keychain store, login: ${r.afterCallbackMs.toFixed(0)} ms after the callback`);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/✗ OS keychain unavailable: timed out after 3 s\n\s+hint: /);
    expect(r.afterCallbackMs).toBeLessThan(LIMIT_MS);
    await expectNothingStored(home, 'silent bus, keychain store');
  });

  it('default store: login falls back to the key file with the warning, within 5 s', async () => {
    const home = newHome();
    const env = cliEnv(home, { DBUS_SESSION_BUS_ADDRESS: address });
    const r = await timedLogin(env, 'hung-auto');
    timings.push(`silent bus, default store, login: ${r.afterCallbackMs.toFixed(0)} ms after the callback`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`! No OS keychain available (timed out after 3 s); keeping the key in ${join(home, 'xtalk.key')} (0600).`);
    expect(r.afterCallbackMs).toBeLessThan(LIMIT_MS);
    const token = await runXtalk(['token'], env);
    expect(token.code, token.stderr).toBe(0);
  });
});

describe.runIf(canStartSecretService || process.env.CI)('a real Secret Service (private D-Bus session and gnome-keyring)', () => {
  let secretService: PrivateSecretService;
  beforeAll(async () => {
    secretService = await startPrivateSecretService();
  });
  afterEach(() => secretService?.thaw());
  afterAll(async () => {
    await secretService?.stop();
  });
  const env = (home: string, extra: CliEnv = {}) => cliEnv(home, { DBUS_SESSION_BUS_ADDRESS: secretService.address, ...extra });

  it('frozen (SIGSTOP) keyring: token, refresh and logout give up within 5 s with the reason and change nothing; thawed, all works', async () => {
    const home = newHome();
    await loginCli(env(home), 'frozen');
    const before = await inspectStore(home);
    expect(before.credentialStore).toBe('keychain');

    secretService.freeze();
    for (const args of [['token'], ['refresh'], ['logout']]) {
      const r = await runXtalk(args, env(home), 20_000);
      timings.push(`frozen keyring, ${args.join(' ')}: ${r.ms.toFixed(0)} ms`);
      expect(r.code, `${args}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(
        `✗ the data key of ${join(home, 'xtalk.db')} is kept in the OS keychain, which is unavailable: timed out after 3 s`,
      );
      expect(r.stderr).toMatch(/hint: .*will not switch to a key file/);
      expect(r.ms).toBeLessThan(LIMIT_MS);
    }
    // The local store needs no keychain.
    const whoami = await runXtalk(['whoami', '--json'], env(home));
    expect(whoami.code, whoami.stderr).toBe(0);
    const fresh = newHome();
    const login = await timedLogin(env(fresh, { XTALK_CREDENTIAL_STORE: 'keychain' }), 'frozen-new');
    timings.push(`frozen keyring, login (keychain store): ${login.afterCallbackMs.toFixed(0)} ms after the callback`);
    expect(login.code, login.stderr).toBe(1);
    expect(login.stderr).toMatch(/✗ OS keychain unavailable: timed out after 3 s/);
    expect(login.afterCallbackMs).toBeLessThan(LIMIT_MS);
    await expectNothingStored(fresh, 'frozen keyring, login');

    const after = await inspectStore(home);
    expect(after).toEqual(before);
    expect(existsSync(join(home, 'xtalk.key'))).toBe(false);

    secretService.thaw();
    const token = await runXtalk(['token'], env(home));
    expect(token.code, token.stderr).toBe(0);
  }, 60_000);

  it('key entry deleted behind xtalk’s back: token exits 4 saying so, nothing is written; login works again, still in the keychain', async () => {
    const home = newHome();
    await loginCli(env(home), 'deleted');
    const account = keychainAccount(join(home, 'xtalk.db'));
    expect(keychainCall(secretService.address, 'delete', account)).toBe(true);
    const before = await inspectStore(home);

    for (const args of [['token'], ['refresh'], ['whoami', '--verify']]) {
      const r = await runXtalk(args, env(home));
      timings.push(`deleted entry, ${args.join(' ')}: ${r.ms.toFixed(0)} ms`);
      expect(r.code, `${args}: ${r.stderr}`).toBe(4);
      expect(r.stderr).toContain('✗ the stored data key is missing');
      expect(r.stderr).toContain(
        `hint: It was removed from the OS keychain (service "xtalk", account "${account}"), so the stored tokens cannot be decrypted. Run \`xtalk login\` to sign in again.`,
      );
      expect(r.ms).toBeLessThan(LIMIT_MS);
    }
    expect(await inspectStore(home)).toEqual(before);
    expect(existsSync(join(home, 'xtalk.key'))).toBe(false);
    expect(keychainCall(secretService.address, 'get', account)).toBeNull();

    const login = await loginCli(env(home), 'deleted');
    expect(login.stderr).toMatch(/! The stored data key was missing; removed 2 unreadable token\(s\)/);
    const token = await runXtalk(['token'], env(home));
    expect(token.code, token.stderr).toBe(0);
    expect((await provider.introspect(token.stdout.trim())).active).toBe(true);
    const status = await runXtalk(['status', '--json'], env(home));
    expect(JSON.parse(status.stdout)[0]).toMatchObject({ sub: 'deleted', credential_store: 'keychain' });
    expect(keychainCall(secretService.address, 'get', account)).toEqual(expect.any(String));
    expect(existsSync(join(home, 'xtalk.key'))).toBe(false);
  }, 60_000);
});

describe.runIf(canStartSecretService || process.env.CI)(
  'a session bus without a Secret Service (private D-Bus session, no keyring)',
  () => {
    let bus: PrivateSecretService;
    beforeAll(async () => {
      bus = await startPrivateSecretService({ keyring: false });
    });
    afterAll(async () => {
      await bus?.stop();
    });

    it('XTALK_CREDENTIAL_STORE=keychain: login fails with the reason, exit 1, nothing written', async () => {
      const home = newHome();
      const r = await timedLogin(
        cliEnv(home, { DBUS_SESSION_BUS_ADDRESS: bus.address, XTALK_CREDENTIAL_STORE: 'keychain' }),
        'no-secrets-keychain',
      );
      timings.push(`bus without Secret Service, keychain store, login: ${r.afterCallbackMs.toFixed(0)} ms after the callback`);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/✗ OS keychain unavailable: no Secret Service on the session bus\n\s+hint: /);
      expect(r.afterCallbackMs).toBeLessThan(LIMIT_MS);
      await expectNothingStored(home, 'bus without Secret Service');
    });

    it('default store: login falls back to the key file with the warning', async () => {
      const home = newHome();
      const r = await timedLogin(cliEnv(home, { DBUS_SESSION_BUS_ADDRESS: bus.address }), 'no-secrets-auto');
      timings.push(`bus without Secret Service, default store, login: ${r.afterCallbackMs.toFixed(0)} ms after the callback`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('! No OS keychain available (no Secret Service on the session bus); keeping the key in');
      expect(r.afterCallbackMs).toBeLessThan(LIMIT_MS);
    });
  },
);

describe('the fake keychain (in-process store)', () => {
  const identity: SessionIdentity = { issuer: 'https://id.test', sub: 'fake', username: 'fake', email: null, claims: {}, clientId: 'cli' };
  const grant = (now: number): TokenGrant => ({
    accessToken: 'FAKE-ACCESS-TOKEN-0123456789',
    tokenType: 'Bearer',
    scope: 'openid',
    expiresAt: now + 3_600_000,
    refreshToken: 'FAKE-REFRESH-TOKEN-0123456789',
  });
  const open = (home: string, keychain: FakeKeychain, mode: 'auto' | 'keychain', warnings: string[] = []) =>
    openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode, keychain, warn: (m) => warnings.push(m) });

  const noPlaintext = (home: string) => {
    for (const file of readdirSync(home)) {
      const bytes = readFileSync(join(home, file));
      expect(bytes.includes('FAKE-ACCESS-TOKEN'), file).toBe(false);
      expect(bytes.includes('FAKE-REFRESH-TOKEN'), file).toBe(false);
    }
  };

  it.each([
    ['unavailable', 'no D-Bus session bus'],
    ['hang', 'timed out after 3 s'],
  ] as const)('%s, keychain store: saveLogin fails with the reason within 5 s, nothing stored', async (state, reason) => {
    const home = newHome();
    const keychain = new FakeKeychain(state);
    const store = open(home, keychain, 'keychain');
    const started = performance.now();
    const err = await store.saveLogin(identity, grant(Date.now()), Date.now()).catch((e: unknown) => e);
    const ms = performance.now() - started;
    timings.push(`fake keychain ${state}, saveLogin: ${ms.toFixed(0)} ms`);
    expect(err).toBeInstanceOf(KeychainError);
    expect((err as KeychainError).message).toContain(reason);
    expect(ms).toBeLessThan(LIMIT_MS);
    expect(store.listAccounts()).toEqual([]);
    expect(store.credentialStore()).toBeNull();
    store.close();
    expect(existsSync(join(home, 'xtalk.key'))).toBe(false);
    noPlaintext(home);
    keychain.verify();
  });

  it('hang, default store: falls back to the key file with the warning within 5 s', async () => {
    const home = newHome();
    const keychain = new FakeKeychain('hang');
    const warnings: string[] = [];
    const store = open(home, keychain, 'auto', warnings);
    const started = performance.now();
    await store.saveLogin(identity, grant(Date.now()), Date.now());
    const ms = performance.now() - started;
    timings.push(`fake keychain hang, default store, saveLogin: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(LIMIT_MS);
    expect(warnings).toEqual([
      expect.stringMatching(/^No OS keychain available \(timed out after 3 s\); keeping the key in .*xtalk\.key \(0600\)/),
    ]);
    expect(store.credentialStore()).toBe('file');
    store.close();
    noPlaintext(home);
    keychain.verify();
  });

  it('entry deleted behind the store: reading is exit 4 saying where the key was; saving a new login works again', async () => {
    const home = newHome();
    const keychain = new FakeKeychain();
    const first = open(home, keychain, 'keychain');
    const account = await first.saveLogin(identity, grant(Date.now()), Date.now());
    first.close();
    keychain.entries.clear();

    const warnings: string[] = [];
    const store = open(home, keychain, 'keychain', warnings);
    const err = await store.latestAccessToken(account.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionExpiredError);
    expect((err as SessionExpiredError).hint).toContain('It was removed from the OS keychain');
    expect(existsSync(join(home, 'xtalk.key'))).toBe(false);
    await store.saveLogin(identity, grant(Date.now()), Date.now());
    expect(warnings).toEqual([expect.stringMatching(/removed 2 unreadable token/)]);
    expect((await store.latestAccessToken(account.id))!.accessToken).toBe('FAKE-ACCESS-TOKEN-0123456789');
    expect(store.credentialStore()).toBe('keychain');
    store.close();
    noPlaintext(home);
    keychain.verify();
  });
});
