import { existsSync, readdirSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type KoaMiddleware, type TestProvider } from '../provider/provider.js';
import { heldTokens } from '../helpers/held-tokens.js';
import { rawDb } from '../helpers/raw-db.js';

let provider: TestProvider;
let hidden: TestProvider;
let revocationCalls = 0;
/** How many of the next revocation requests to `hidden` get a 503 with Retry-After: 1. */
let revocationFailures = 0;
const busyRevocation: KoaMiddleware = async (ctx, next) => {
  if (ctx.path !== '/token/revocation') return next();
  revocationCalls++;
  if (revocationFailures-- <= 0) return next();
  ctx.status = 503;
  ctx.set('retry-after', '1');
  ctx.body = 'busy';
};
beforeAll(async () => {
  provider = await startTestProvider();
  hidden = await startTestProvider({ hideRevocationEndpoint: true, middleware: [busyRevocation] });
});
afterAll(async () => {
  await provider?.stop();
  await hidden?.stop();
});

const envFor = (p: TestProvider, extra: Record<string, string> = {}) => ({
  XTALK_ISSUER: p.issuer,
  XTALK_CLIENT_ID: p.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: p.confidentialClient.clientSecret,
  ...extra,
});

async function xtalk(home: string, args: string[], env: Record<string, string | undefined>) {
  const ctx = createTestContext({ env, home, browser: (url) => signInWithHttp(url, { login: loginName }) });
  const code = await run(args, ctx);
  await Promise.all(ctx.browserRuns);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text, home: ctx.home };
}
let loginName = 'alice';
async function login(name: string, env: Record<string, string>, home = createTestContext().home) {
  loginName = name;
  const res = await xtalk(home, ['login'], env);
  expect(res.code, res.stderr).toBe(0);
  return home;
}

function tokenRowCount(home: string): number {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  try {
    return rawDb(store.dbPath).value('SELECT (SELECT count(*) FROM access_token) + (SELECT count(*) FROM refresh_token)') as number;
  } finally {
    store.close();
  }
}

describe('xtalk logout', () => {
  it('revokes the refresh token and every access token, then forgets them (and the key)', async () => {
    const env = envFor(provider);
    const home = await login('lena', env);
    // two more access tokens, all still valid; the refresh token rotates each time
    expect((await xtalk(home, ['refresh'], env)).code).toBe(0);
    expect((await xtalk(home, ['refresh'], env)).code).toBe(0);
    const tokens = await heldTokens(home);
    expect(tokens).toHaveLength(4);
    for (const t of tokens) expect((await provider.introspect(t)).active).toBe(true);

    const res = await xtalk(home, ['logout'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`Logged out lena from ${provider.issuer}; 4 tokens revoked`);
    for (const t of tokens) expect((await provider.introspect(t)).active).toBe(false);
    expect(tokenRowCount(home)).toBe(0);
    expect(existsSync(join(home, 'xtalk.key'))).toBe(false);
    for (const f of readdirSync(home)) {
      const bytes = readFileSync(join(home, f)).toString('latin1');
      for (const t of tokens) expect(bytes.includes(t), f).toBe(false);
    }
    const who = await xtalk(home, ['whoami'], env);
    expect(who.code).toBe(4);
    const token = await xtalk(home, ['token'], env);
    expect(token.code).toBe(4);
    expect(token.stderr).toContain('xtalk login');
    expect(token.stderr).not.toContain('xtalk switch');

    // the profile went with the tokens; logging in again stores it anew
    expect(JSON.parse((await xtalk(home, ['status', '--json'], env)).stdout)).toEqual([]);
    await login('lena', env, home);
    const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
    expect(store.listAccounts().map((a) => a.username)).toEqual(['lena']);
    store.close();
  });

  it('removes the keychain entry with the last account', async () => {
    const keychain = new FakeKeychain();
    const env = envFor(provider);
    const home = createTestContext().home;
    const ctx = createTestContext({ env, home, keychain, browser: (url) => signInWithHttp(url, { login: 'kim' }) });
    expect(await run(['login'], ctx)).toBe(0);
    await Promise.all(ctx.browserRuns);
    expect(keychain.entries.size).toBe(1);
    const out = createTestContext({ env, home, keychain });
    expect(await run(['logout'], out), out.stderr.text).toBe(0);
    expect(keychain.entries.size).toBe(0);
  });

  it('keeps everything and exits 5 while the provider is down; succeeds after it is back; --force deletes anyway', async () => {
    const env = envFor(provider);
    const home = await login('mona', env);
    const tokens = await heldTokens(home);
    await provider.stop();
    try {
      const down = await xtalk(home, ['logout'], env);
      expect(down.code).toBe(5);
      expect(down.stderr).toContain('Could not revoke 2 of 2 token(s) of mona');
      expect(down.stderr).toMatch(/refresh token: Cannot reach the provider/);
      expect(down.stderr).toContain('--force');
      expect(await heldTokens(home)).toEqual(tokens);
    } finally {
      await provider.restart();
    }
    const up = await xtalk(home, ['logout'], env);
    expect(up.code, up.stderr).toBe(0);
    for (const t of tokens) expect((await provider.introspect(t)).active).toBe(false);

    const home2 = await login('nina', env);
    await provider.stop();
    try {
      const forced = await xtalk(home2, ['logout', '--force'], env);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stderr).toContain('without revoking them (--force)');
      expect(tokenRowCount(home2)).toBe(0);
    } finally {
      await provider.restart();
    }
  });

  it('uses XTALK_REVOCATION_ENDPOINT when discovery has none, and exits 5 naming it otherwise', async () => {
    const home = await login('otto', envFor(hidden));
    const tokens = await heldTokens(home);
    const without = await xtalk(home, ['logout'], envFor(hidden));
    expect(without.code).toBe(5);
    expect(without.stderr).toContain('XTALK_REVOCATION_ENDPOINT');
    expect(await heldTokens(home)).toEqual(tokens);

    const withEndpoint = await xtalk(home, ['logout'], envFor(hidden, { XTALK_REVOCATION_ENDPOINT: `${hidden.issuer}/token/revocation` }));
    expect(withEndpoint.code, withEndpoint.stderr).toBe(0);
    for (const t of tokens) expect((await hidden.introspect(t)).active).toBe(false);

    const home2 = await login('olga', envFor(hidden));
    const forced = await xtalk(home2, ['logout', '--force'], envFor(hidden));
    expect(forced.code).toBe(0);
    expect(tokenRowCount(home2)).toBe(0);
  });

  it('honours Retry-After once on 503, then reports', async () => {
    revocationCalls = 0;
    revocationFailures = 1;
    // The endpoint decided at login: the provider's own (same origin), which discovery does not name.
    const env = envFor(hidden, { XTALK_REVOCATION_ENDPOINT: `${hidden.issuer}/token/revocation` });
    const home = await login('pia', env);
    const started = Date.now();
    const ok = await xtalk(home, ['logout'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(revocationCalls).toBe(3); // 503, retry, then the access token
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const home2 = await login('paul', env);
    revocationFailures = 2;
    revocationCalls = 0;
    const busy = await xtalk(home2, ['logout'], env);
    expect(busy.code).toBe(5);
    expect(busy.stderr).toContain('HTTP 503');
    expect(tokenRowCount(home2)).toBeGreaterThan(0);
  });

  it('--all logs out accounts at two issuers; the remaining account becomes current', async () => {
    const home = await login('quinn', envFor(provider));
    await login('rosa', envFor(hidden), home);
    await login('sam', envFor(provider), home);
    // logging out the current account (sam) with two others left: nobody is current
    expect((await xtalk(home, ['logout'], envFor(provider))).code).toBe(0);
    expect((await xtalk(home, ['whoami'], envFor(provider))).code).toBe(4);
    // with one other left, it becomes current
    expect((await xtalk(home, ['logout', '--account', 'quinn'], envFor(provider))).code).toBe(0);
    expect((await xtalk(home, ['switch', 'sam'], envFor(provider))).code).toBe(4);

    await login('quinn', envFor(provider), home);
    const all = await xtalk(home, ['logout', '--all'], envFor(provider, { XTALK_REVOCATION_ENDPOINT: 'http://127.0.0.1:9/revoke' }));
    // rosa's provider hides its endpoint and the configured one belongs to another issuer: exit 5 for her only
    expect(all.code).toBe(5);
    expect(all.stderr).toContain(`Logged out quinn from ${provider.issuer}`);
    expect(all.stderr).toContain('1 of 2 accounts are still logged in: rosa');
    const forced = await xtalk(home, ['logout', '--all', '--force'], envFor(provider));
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(`Logged out rosa from ${hidden.issuer}`);
    expect(tokenRowCount(home)).toBe(0);
  });
});

/** Whether any file of `home` (the database, its WAL, the key) holds one of `words`, as bytes. */
function filesHolding(home: string, words: string[]): string[] {
  return readdirSync(home).flatMap((f) => {
    const bytes = readFileSync(join(home, f));
    return words.filter((w) => bytes.includes(Buffer.from(w, 'utf8'))).map((w) => `${f}: ${w}`);
  });
}

describe('xtalk logout: nothing personal left behind', () => {
  // Names no other part of the store can contain (the issuer, client id and scope are not personal).
  const PERSONAL = (name: string) => [name, `${name}@example.test`];

  it('removes the profile with the tokens: status lists nothing, completion offers nothing, no byte of the name stays in the database or its WAL', async () => {
    const env = envFor(provider);
    const home = await login('zoe-profile', env);
    await login('yuri-profile', env, home);
    expect((await xtalk(home, ['switch', 'zoe-profile'], env)).code).toBe(0);
    // Another process has the database open meanwhile (as `xtalk exec` or a Node API program may):
    // SQLite then keeps the WAL, and with it the pages that held the profile, unless logout empties it.
    const other = new Database(join(home, 'xtalk.db'), { fileMustExist: true });
    try {
      other.prepare('SELECT count(*) FROM user').pluck().get();
      const res = await xtalk(home, ['logout'], env);
      expect(res.code, res.stderr).toBe(0);
      expect(filesHolding(home, PERSONAL('zoe-profile'))).toEqual([]);
      // The other account is untouched.
      expect(filesHolding(home, ['yuri-profile'])).not.toEqual([]);
    } finally {
      other.close();
    }
    const status = JSON.parse((await xtalk(home, ['status', '--json'], env)).stdout) as { username: string }[];
    expect(status.map((a) => a.username)).toEqual(['yuri-profile']);
    expect((await xtalk(home, ['status'], env)).stdout).not.toContain('zoe-profile');
    expect((await xtalk(home, ['__complete', 'accounts'], env)).stdout).toBe('yuri-profile\nyuri-profile@example.test\n');
    const gone = await xtalk(home, ['switch', 'zoe-profile'], env);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('No stored account matches "zoe-profile"');
  });

  it('--keep-profile keeps it (listed as logged out, not offered by completion); logout --all then removes it', async () => {
    const env = envFor(provider);
    const home = await login('xena-profile', env);
    await login('walt-profile', env, home);
    const kept = await xtalk(home, ['logout', '--keep-profile', '--account', 'xena-profile'], env);
    expect(kept.code, kept.stderr).toBe(0);
    const status = JSON.parse((await xtalk(home, ['status', '--json'], env)).stdout) as {
      username: string;
      email: string;
      claims: { group?: string };
    }[];
    expect(status.map((a) => [a.username, a.email, a.claims.group])).toEqual([
      ['xena-profile', 'xena-profile@example.test', 'developers'],
      ['walt-profile', 'walt-profile@example.test', 'developers'],
    ]);
    expect((await xtalk(home, ['status'], env)).stdout).toMatch(/xena-profile .*logged out/);
    expect((await xtalk(home, ['__complete', 'accounts'], env)).stdout).toBe('walt-profile\nwalt-profile@example.test\n');

    const all = await xtalk(home, ['logout', '--all'], env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stderr).toContain('Removed 1 logged-out account from the store.');
    expect(all.stderr).toContain('Logged out walt-profile');
    expect(JSON.parse((await xtalk(home, ['status', '--json'], env)).stdout)).toEqual([]);
    expect(filesHolding(home, [...PERSONAL('xena-profile'), ...PERSONAL('walt-profile')])).toEqual([]);
  });

  it('logout --all with nobody signed in still removes profiles an older xtalk kept', async () => {
    const env = envFor(provider);
    const home = await login('vera-profile', env);
    expect((await xtalk(home, ['logout', '--keep-profile'], env)).code).toBe(0);
    expect(filesHolding(home, ['vera-profile'])).not.toEqual([]);
    const all = await xtalk(home, ['logout', '--all'], env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stderr).toBe('Removed 1 logged-out account from the store.\n');
    expect(filesHolding(home, PERSONAL('vera-profile'))).toEqual([]);
    // --keep-profile with --all keeps them.
    const home2 = await login('uma-profile', env);
    expect((await xtalk(home2, ['logout', '--all', '--keep-profile'], env)).code).toBe(0);
    expect(JSON.parse((await xtalk(home2, ['status', '--json'], env)).stdout).map((a: { username: string }) => a.username)).toEqual([
      'uma-profile',
    ]);
  });

  it('a failed revocation (exit 5) deletes nothing, the profile included', async () => {
    const env = envFor(provider);
    const home = await login('tess-profile', env);
    await provider.stop();
    try {
      const down = await xtalk(home, ['logout'], env);
      expect(down.code).toBe(5);
    } finally {
      await provider.restart();
    }
    const status = JSON.parse((await xtalk(home, ['status', '--json'], env)).stdout) as { username: string; current: boolean }[];
    expect(status.map((a) => [a.username, a.current])).toEqual([['tess-profile', true]]);
    expect((await xtalk(home, ['logout'], env)).code).toBe(0);
  });
});
