import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemKeychain, openStore } from '../../src/store/index.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { chromiumBrowserCommand, clientEnv, runCli } from './cli.js';

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider();
});
afterAll(async () => {
  await provider?.stop();
});

function env(home: string, extra: Record<string, string | undefined> = {}) {
  return clientEnv(provider, home, { DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS, ...extra });
}

async function loginInChromium(home: string, login: string, extra: Record<string, string | undefined>) {
  const logFile = join(home, '..', `${login}-browser.log`);
  const res = await runCli(['login', '--timeout', '60'], {
    env: env(home, { BROWSER: chromiumBrowserCommand(login), XTALK_TEST_BROWSER_LOG: logFile, ...extra }),
    timeoutMs: 90_000,
  });
  if (res.code !== 0) {
    let log = '';
    try {
      log = readFileSync(logFile, 'utf8');
    } catch {}
    throw new Error(`login exited ${res.code}\nstderr:\n${res.stderr}\nbrowser log:\n${log}`);
  }
  return res;
}

function noTokenInFiles(home: string, tokens: string[]) {
  for (const f of readdirSync(home)) {
    const bytes = readFileSync(join(home, f)).toString('latin1');
    for (const t of tokens) expect(bytes.includes(t), `${f} contains a token`).toBe(false);
  }
}

describe('xtalk login in a real browser (built CLI, headless Chromium)', () => {
  it('with the file credential store', async () => {
    const home = join(mkdtempSync(join(tmpdir(), 'xtalk-e2e-')), 'home');
    const login = await loginInChromium(home, 'erin', { XTALK_CREDENTIAL_STORE: 'file' });
    expect(login.stdout).toBe('');
    expect(login.stderr).toContain(`Logged in to ${provider.issuer} as erin (erin@example.test)`);

    const who = await runCli(['whoami', '--json'], { env: env(home, { XTALK_CREDENTIAL_STORE: 'file' }) });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ sub: 'erin', username: 'erin', current: true, credential_store: 'file' });
    expect(readdirSync(home)).toContain('xtalk.key');

    const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
    const account = store.currentAccount()!;
    const access = (await store.latestAccessToken(account.id))!.accessToken;
    const refresh = (await store.refreshToken(account.id))!.refreshToken;
    store.close();
    expect((await provider.introspect(access)).active).toBe(true);
    noTokenInFiles(home, [access, refresh]);
  });

  const hasBus = Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);
  if (!hasBus && process.env.CI) {
    it('with the real keychain: needs a Secret Service in CI', () => {
      throw new Error('DBUS_SESSION_BUS_ADDRESS is not set; run the tests under dbus-run-session with gnome-keyring (see .ci/run).');
    });
  }
  it.runIf(hasBus)('with the real OS keychain (Secret Service)', async () => {
    const home = join(mkdtempSync(join(tmpdir(), 'xtalk-e2e-')), 'home');
    await loginInChromium(home, 'frank', { XTALK_CREDENTIAL_STORE: 'keychain' });
    const who = await runCli(['whoami', '--json'], { env: env(home) });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ sub: 'frank', credential_store: 'keychain' });
    expect(readdirSync(home)).not.toContain('xtalk.key');

    const store = openStore({
      dbPath: join(home, 'xtalk.db'),
      keyFilePath: join(home, 'xtalk.key'),
      mode: 'keychain',
      warn: () => {},
      keychain: createSystemKeychain(),
    });
    const account = store.currentAccount()!;
    const access = (await store.latestAccessToken(account.id))!.accessToken;
    expect((await provider.introspect(access)).active).toBe(true);
    noTokenInFiles(home, [access]);
    await store.deleteDataKey().catch(() => {});
    store.close();
  });
});
