/**
 * One lab machine, one browser profile, several people (built CLI, headless Chromium, local
 * provider): the provider's browser session outlives a plain `xtalk logout`, `login --fresh` asks
 * for credentials anyway, and `logout --browser` ends that session so the next login shows the
 * provider's login form again.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { CHROMIUM_BROWSER, clientEnv, runCli } from './cli.js';

let provider: TestProvider;
let dir: string;
let home: string;
let profile: string;
let report: string;

beforeAll(async () => {
  provider = await startTestProvider();
  dir = mkdtempSync(join(tmpdir(), 'xtalk-e2e-shared-'));
  home = join(dir, 'home');
  profile = join(dir, 'chromium-profile');
  report = join(dir, 'pages.log');
});
afterAll(async () => {
  await provider?.stop();
});

/** Runs xtalk with the shared browser profile; returns its result and the pages the browser acted on. */
async function xtalk(args: string[], login = 'nobody') {
  writeFileSync(report, '');
  const browser = `"${process.execPath}" "${CHROMIUM_BROWSER}" --login ${login} --profile "${profile}" --report "${report}"`;
  const logFile = join(dir, 'browser.log');
  const res = await runCli(args, {
    env: clientEnv(provider, home, {
      BROWSER: browser,
      XTALK_TIMEOUT: '60',
      XTALK_CREDENTIAL_STORE: 'file',
      XTALK_TEST_BROWSER_LOG: logFile,
    }),
    timeoutMs: 90_000,
  });
  const pages = readFileSync(report, 'utf8').split('\n').filter(Boolean);
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  return { ...res, pages, context: `exit ${res.code}\nstderr:\n${res.stderr}\nbrowser log:\n${log}` };
}

describe('a shared machine in a real browser', () => {
  it('a plain logout leaves the provider session: the next login is the previous person, without a login form', async () => {
    const alice = await xtalk(['login'], 'alice');
    expect(alice.code, alice.context).toBe(0);
    expect(alice.pages).toEqual(['login-form']);
    expect((await xtalk(['logout'])).code).toBe(0);

    const next = await xtalk(['login'], 'bob');
    expect(next.code, next.context).toBe(0);
    expect(next.pages).toEqual([]);
    expect(next.stderr).toContain('as alice (alice@example.test)');
  });

  it('--fresh shows the login form while the provider session is alive', async () => {
    const bob = await xtalk(['login', '--fresh'], 'bob');
    expect(bob.code, bob.context).toBe(0);
    expect(bob.pages).toEqual(['login-form']);
    expect(bob.stderr).toContain('as bob (bob@example.test)');
    expect(bob.stderr).toMatch(/different account .* not as alice \(alice@example\.test\)/);
  });

  it('logout --browser ends the provider session: the next plain login shows the login form and signs in someone else', async () => {
    const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
    const idToken = (await store.idToken(store.currentAccount()!.id))!;
    store.close();
    expect(idToken).toMatch(/^eyJ/);
    const out = await xtalk(['logout', '--browser']);
    expect(out.code, out.context).toBe(0);
    // The ID token (the id_token_hint) reaches the browser only through the listener's one-time link.
    expect(out.stderr).not.toContain(idToken);
    expect(out.context).toMatch(/opening http:\/\/127\.0\.0\.1:\d+\/start\/[\w-]{43}\n/);
    expect(out.context).not.toContain(idToken);
    expect(out.pages).toEqual(['logout-confirm']);
    expect(out.stderr).toMatch(/✓ Logged out bob from/);
    expect(out.stderr).toContain(`✓ Signed out of ${provider.issuer} in the browser too`);

    const carol = await xtalk(['login'], 'carol');
    expect(carol.code, carol.context).toBe(0);
    expect(carol.pages).toEqual(['login-form']);
    expect(carol.stderr).toContain('as carol (carol@example.test)');
    const who = await xtalk(['whoami', '--json']);
    expect(JSON.parse(who.stdout)).toMatchObject({ sub: 'carol', current: true });
  });
});
