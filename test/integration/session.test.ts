import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext, type TestContextOptions } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { rawDb } from '../helpers/raw-db.js';

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider({
    accessTokenTtl: 100,
    users: { 'alice-2': { preferred_username: 'alice', email: 'alice.two@example.test' } },
  });
});
afterAll(async () => {
  await provider?.stop();
});

const clientEnv = () => ({
  XTALK_ISSUER: provider.issuer,
  XTALK_CLIENT_ID: provider.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
});

async function login(loginName: string, home?: string): Promise<string> {
  const ctx = createTestContext({ env: clientEnv(), home, browser: (url) => signInWithHttp(url, { login: loginName }) });
  const code = await run(['login'], ctx);
  await Promise.all(ctx.browserRuns);
  expect(code, ctx.stderr.text).toBe(0);
  return ctx.home;
}

async function xtalk(home: string, args: string[], opts: Omit<TestContextOptions, 'home'> = {}) {
  const ctx = createTestContext({ env: clientEnv(), ...opts, home });
  const code = await run(args, ctx);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text };
}

function withStore<T>(home: string, fn: (store: ReturnType<typeof openStore>) => T): T {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

const accessTokenRows = (home: string) => withStore(home, (s) => rawDb(s.dbPath).value('SELECT count(*) FROM access_token') as number);

describe('xtalk token', () => {
  it('prints the stored token and nothing else, with no provider call', async () => {
    const home = await login('tom');
    const grants = provider.grants.length;
    const stored = await withStore(home, (s) => s.latestAccessToken(s.currentAccount()!.id));
    const res = await xtalk(home, ['token']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(stored!.accessToken + '\n');
    expect(res.stderr).toBe('');
    expect(provider.grants.length).toBe(grants);

    const json = JSON.parse((await xtalk(home, ['token', '--json'])).stdout);
    expect(json).toEqual({
      access_token: stored!.accessToken,
      token_type: 'Bearer',
      expires_at: new Date(stored!.expiresAt).toISOString(),
      scope: expect.stringContaining('openid'),
    });
    expect((await xtalk(home, ['token', '--format', 'json'])).stdout).toBe((await xtalk(home, ['token', '--json'])).stdout);
    expect((await xtalk(home, ['token', '--format', 'header'])).stdout).toBe(`Authorization: Bearer ${stored!.accessToken}\n`);
    const bad = await xtalk(home, ['token', '--format', 'yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unknown --format "yaml"');
  });

  it('refreshes within the margin: 60 s, but at most half the lifetime, or --min-ttl', async () => {
    const home = await login('uma');
    const first = (await withStore(home, (s) => s.latestAccessToken(s.currentAccount()!.id)))!;
    const at = (secondsBeforeExpiry: number) => () => first.expiresAt - secondsBeforeExpiry * 1000;
    const refreshes = provider.refreshGrantCount();

    // 100 s tokens: the margin is min(60, 50) = 50 s
    expect((await xtalk(home, ['token'], { now: at(55) })).stdout).toBe(first.accessToken + '\n');
    expect(provider.refreshGrantCount()).toBe(refreshes);
    expect((await xtalk(home, ['token', '--min-ttl', '70'], { now: at(55) })).stdout).not.toBe(first.accessToken + '\n');
    expect(provider.refreshGrantCount()).toBe(refreshes + 1);

    const second = (await withStore(home, (s) => s.latestAccessToken(s.currentAccount()!.id)))!;
    const res = await xtalk(home, ['token'], { now: () => second.expiresAt - 45_000 });
    expect(res.code).toBe(0);
    expect(provider.refreshGrantCount()).toBe(refreshes + 2);
    expect((await provider.introspect(res.stdout.trim())).active).toBe(true);

    expect((await xtalk(home, ['token', '--min-ttl', 'soon'])).code).toBe(2);
    // One rule for token and exec: an empty or negative value is a usage error, not 0.
    for (const args of [
      ['token', '--min-ttl', ''],
      ['exec', '--min-ttl', '', '--', 'true'],
      ['exec', '--min-ttl', '-5', '--', 'true'],
    ]) {
      const bad = await xtalk(home, args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(/--min-ttl expects a number of seconds/);
    }
  });

  it('a --min-ttl longer than the tokens live is exit 2 MIN_TTL_UNSATISFIABLE after one refresh, for token and exec alike', async () => {
    const home = await login('ursula');
    const refreshes = provider.refreshGrantCount();
    const res = await xtalk(home, ['token', '--min-ttl', '200']);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain("the provider's access tokens last 100 s");
    expect(res.stderr).toContain('The provider issues access tokens of 100 s: use --min-ttl below that (the refreshed token was stored).');
    expect(provider.refreshGrantCount()).toBe(refreshes + 1);
    // The refreshed token was stored: a plain call serves it without another refresh.
    const stored = (await withStore(home, (s) => s.latestAccessToken(s.currentAccount()!.id)))!;
    expect((await xtalk(home, ['token'])).stdout).toBe(stored.accessToken + '\n');
    expect(provider.refreshGrantCount()).toBe(refreshes + 1);
    const exec = await xtalk(home, ['exec', '--min-ttl', '100', '--', 'true']);
    expect(exec.code).toBe(2);
    expect(exec.stderr).toContain('use --min-ttl below that');
    expect(provider.refreshGrantCount()).toBe(refreshes + 2);
  });

  it('exits 4 with the hint `xtalk login` without a session', async () => {
    const home = createTestContext().home;
    const res = await xtalk(home, ['token']);
    expect(res.code).toBe(4);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('xtalk login');
  });

  it('exits 4 when the provider rejects the refresh token, and keeps the stored one', async () => {
    const home = await login('vera');
    const rt = (await withStore(home, (s) => s.refreshToken(s.currentAccount()!.id)))!;
    await provider.revoke(rt.refreshToken);
    const res = await xtalk(home, ['token', '--min-ttl', '1000']);
    expect(res.code).toBe(4);
    expect(res.stderr).toMatch(/rejected the session \(invalid_grant/);
    expect(res.stderr).toContain('xtalk login');
    expect((await withStore(home, (s) => s.refreshToken(s.currentAccount()!.id)))!.refreshToken).toBe(rt.refreshToken);
  });
});

describe('xtalk refresh', () => {
  it('rotates the refresh token in place and links the new access token to it; prunes expired rows', async () => {
    const home = await login('walt');
    const before = (await withStore(home, (s) => s.refreshToken(s.currentAccount()!.id)))!;
    const res = await xtalk(home, ['refresh', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const token = JSON.parse(res.stdout);
    expect(res.stderr).toContain('Refreshed the access token of walt');
    const after = (await withStore(home, (s) => s.refreshToken(s.currentAccount()!.id)))!;
    expect(after.id).toBe(before.id);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect((await provider.introspect(before.refreshToken)).active).toBe(false);
    expect((await provider.introspect(after.refreshToken)).active).toBe(true);
    const latest = (await withStore(home, (s) => s.latestAccessToken(s.currentAccount()!.id)))!;
    expect(latest.accessToken).toBe(token.access_token);
    expect(latest.refreshTokenId).toBe(after.id);
    expect(accessTokenRows(home)).toBe(2);

    // a refresh at a time when both stored tokens have expired prunes them
    const later = () => latest.expiresAt + 1000;
    expect((await xtalk(home, ['refresh'], { now: later })).code).toBe(0);
    expect(accessTokenRows(home)).toBe(1);
  });
});

describe('accounts: whoami, status, switch, --account', () => {
  it('selects, lists and switches accounts, and refuses an ambiguous name', async () => {
    const home = await login('alice');
    await login('alice-2', home);
    await login('xena', home);

    const status = JSON.parse((await xtalk(home, ['status', '--json'])).stdout);
    expect(status.map((a: { sub: string; current: boolean }) => [a.sub, a.current])).toEqual([
      ['alice', false],
      ['alice-2', false],
      ['xena', true],
    ]);
    const table = await xtalk(home, ['status']);
    expect(table.stdout).toMatch(/^\*\s+xena/m);
    expect(table.stderr).toContain('Credential store: file');

    const ambiguous = await xtalk(home, ['switch', 'alice']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('matches 2 accounts');
    expect(ambiguous.stderr).toContain('sub=alice-2');
    expect((await xtalk(home, ['switch', 'nobody'])).code).toBe(4);

    expect((await xtalk(home, ['switch', '--account', 'xena'])).code).toBe(0);
    expect((await xtalk(home, ['switch'])).code).toBe(2);
    expect((await xtalk(home, ['switch', 'xena', '--account', 'alice-2'])).code).toBe(2);
    const one = JSON.parse((await xtalk(home, ['status', '--json', '--account', 'alice-2'])).stdout);
    expect(one.map((a: { sub: string }) => a.sub)).toEqual(['alice-2']);

    expect((await xtalk(home, ['switch', 'alice.two@example.test'])).code).toBe(0);
    expect(JSON.parse((await xtalk(home, ['whoami', '--json'])).stdout).sub).toBe('alice-2');
    expect(JSON.parse((await xtalk(home, ['whoami', '--json', '--account', 'xena'])).stdout)).toMatchObject({
      sub: 'xena',
      current: false,
    });

    const xenaToken = await withStore(home, (s) => s.latestAccessToken(s.findAccounts('xena')[0]!.id));
    expect((await xtalk(home, ['token', '--account', 'xena'])).stdout).toBe(xenaToken!.accessToken + '\n');
  });

  it('whoami --verify asks the provider, and exits 4 once the provider revoked the session', async () => {
    const home = await login('yuri');
    const ok = await xtalk(home, ['whoami', '--verify', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).sub).toBe('yuri');
    expect(ok.stderr).toContain('accepts the session');

    const offline = await xtalk(home, ['whoami']);
    expect(offline.stdout).toContain('yuri');

    const at = (await withStore(home, (s) => s.latestAccessToken(s.currentAccount()!.id)))!;
    await provider.revoke(at.accessToken);
    const revoked = await xtalk(home, ['whoami', '--verify']);
    expect(revoked.code).toBe(4);
    expect(revoked.stderr).toContain('no longer accepts');
    expect(revoked.stdout).toBe('');
  });
});
