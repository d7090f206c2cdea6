import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { getAccessToken, SessionExpiredError } from '../../src/index.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext, type TestContextOptions } from '../fakes/context.js';
import { waitFor } from '../helpers/wait-for.js';
import { approveDeviceWithHttp, signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider, type TestProviderOptions } from '../provider/provider.js';

// Providers that bend the RFCs in how they answer; each behaviour is an option of the test provider.

const started: TestProvider[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
});

async function provider(opts: TestProviderOptions = {}): Promise<TestProvider> {
  const p = await startTestProvider(opts);
  started.push(p);
  return p;
}

const confidential = (p: TestProvider, extra: Record<string, string> = {}): Record<string, string> => ({
  XTALK_ISSUER: p.issuer,
  XTALK_CLIENT_ID: p.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: p.confidentialClient.clientSecret,
  ...extra,
});

async function xtalk(args: string[], opts: TestContextOptions = {}) {
  const ctx = createTestContext({ ...opts, browser: opts.browser ?? ((url) => signInWithHttp(url, { login: 'alice' })) });
  const code = await run(args, ctx);
  await Promise.allSettled(ctx.browserRuns);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text, home: ctx.home };
}

/** The environment the Node API reads for the session the CLI stored in `home`. */
const apiEnv = (p: TestProvider, home: string) => ({ ...confidential(p), XTALK_HOME: home, XTALK_CREDENTIAL_STORE: 'file' });

function storeOf(home: string) {
  return openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
}

async function storedRefreshToken(home: string): Promise<string> {
  const store = storeOf(home);
  try {
    return (await store.refreshToken(store.currentAccount()!.id))!.refreshToken;
  } finally {
    store.close();
  }
}

function recordedFailure(home: string) {
  const store = storeOf(home);
  try {
    return store.refreshFailureSince(store.currentAccount()!.id, 0);
  } finally {
    store.close();
  }
}

/** The session ended: exit 4 with "run `xtalk login`", for `token` (a refresh it needs) and `refresh`. */
async function expectSessionEnded(p: TestProvider, home: string): Promise<void> {
  const env = confidential(p);
  for (const args of [['token', '--min-ttl', '999999'], ['refresh']]) {
    const res = await xtalk(args, { env, home });
    expect(res.code, res.stderr).toBe(4);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('invalid_request');
    expect(res.stderr).toMatch(/hint: Run `xtalk login`/);
    expect(res.stderr).not.toContain('client registration');
  }
}

describe('a refresh token the provider no longer knows, answered with 400 invalid_request', () => {
  it('after a revocation: `token` and `refresh` exit 4 ("run `xtalk login`"), getAccessToken rejects with SESSION_EXPIRED', async () => {
    const p = await provider({ refreshErrorAs: 'invalid_request' });
    const login = await xtalk(['login'], { env: confidential(p) });
    expect(login.code, login.stderr).toBe(0);
    await p.revoke(await storedRefreshToken(login.home));

    await expectSessionEnded(p, login.home);
    const api = await getAccessToken({ env: apiEnv(p, login.home), minTtl: 999_999 }).catch((e: unknown) => e);
    expect(api).toBeInstanceOf(SessionExpiredError);
    expect(api).toMatchObject({ code: 'SESSION_EXPIRED', exitCode: 4, hint: expect.stringMatching(/xtalk login/) });
    // What the provider said, beneath the rewrite: the grant is gone.
    expect(p.grantErrors.filter((g) => g.grantType === 'refresh_token').map((g) => g.error)).toEqual(Array(3).fill('invalid_grant'));
    // The refused session is kept (docs/reliability.md: a session is never lost), and waiting processes read the same error.
    expect(await storedRefreshToken(login.home)).toBeTruthy();
    expect(recordedFailure(login.home)).toMatchObject({ name: 'SessionExpiredError', code: 'SESSION_EXPIRED', exitCode: 4 });
  });

  it('callers waiting for the refresh get the same SESSION_EXPIRED, after one refused grant', async () => {
    const p = await provider({ refreshErrorAs: 'invalid_request' });
    const login = await xtalk(['login'], { env: confidential(p) });
    expect(login.code, login.stderr).toBe(0);
    await p.revoke(await storedRefreshToken(login.home));
    const env = apiEnv(p, login.home);
    const results = await Promise.all(Array.from({ length: 4 }, () => getAccessToken({ env, minTtl: 999_999 }).catch((e: unknown) => e)));
    for (const r of results) expect(r).toMatchObject({ code: 'SESSION_EXPIRED', exitCode: 4 });
    expect(p.grantErrors.filter((g) => g.grantType === 'refresh_token')).toHaveLength(1);
  });

  it('after the refresh token expired', async () => {
    const p = await provider({ refreshErrorAs: 'invalid_request', refreshTokenTtl: 1 });
    const login = await xtalk(['login'], { env: confidential(p) });
    expect(login.code, login.stderr).toBe(0);
    const refreshToken = await storedRefreshToken(login.home);
    // The provider's own clock decides: wait until it says the token is no longer active.
    while ((await p.introspect(refreshToken)).active) await new Promise((r) => setTimeout(r, 100));
    await expectSessionEnded(p, login.home);
  });
});

describe('invalid_client behind a `WWW-Authenticate: Basic realm=…` challenge (the error only in the body)', () => {
  const bothRefused =
    'hint: Check XTALK_CLIENT_ID and XTALK_CLIENT_SECRET: the provider refused them in the Authorization header and in the body.';
  const advice = 'hint: Check XTALK_CLIENT_ID and XTALK_CLIENT_SECRET; if they are right, the provider may expect XTALK_TOKEN_AUTH_METHOD=';

  it('a wrong client secret is INVALID_CLIENT with the invalid_client advice: code exchange, refresh, device start, revocation', async () => {
    const p = await provider({ basicChallengeOnInvalidClient: true, deviceFlow: true });
    const wrong = confidential(p, { XTALK_CLIENT_SECRET: 'not-the-secret' });
    const login = await xtalk(['login'], { env: wrong });
    expect(login.code, login.stderr).toBe(1);
    expect(login.stderr).toMatch(
      /refused the token exchange \(invalid_client.*; xtalk sent client id "xtalk-confidential" and the client secret with client_secret_basic, then with client_secret_post\./,
    );
    // No method configured: both were tried (auth detection), so the advice is about the credentials.
    expect(login.stderr).toContain(bothRefused);
    expect(login.stderr).not.toContain('HTTP 401');

    const post = await xtalk(['login'], { env: { ...wrong, XTALK_TOKEN_AUTH_METHOD: 'client_secret_post' } });
    expect(post.code, post.stderr).toBe(1);
    expect(post.stderr).toContain(`${advice}client_secret_basic`);

    const device = await xtalk(['login', '--device'], { env: wrong });
    expect(device.code, device.stderr).toBe(1);
    expect(device.stderr).toMatch(/invalid_client.*xtalk sent client id/);

    // A session from the right secret, then the secret is wrong: the refresh is refused for the
    // client, not for the session (exit 1, not 4).
    const good = await xtalk(['login'], { env: confidential(p) });
    expect(good.code, good.stderr).toBe(0);
    const refresh = await xtalk(['refresh'], { env: wrong, home: good.home });
    expect(refresh.code, refresh.stderr).toBe(1);
    expect(refresh.stderr).toMatch(/refused the token refresh \(invalid_client.*xtalk sent client id/);
    expect(refresh.stderr).toContain(bothRefused);
    const api = await getAccessToken({ env: { ...apiEnv(p, good.home), XTALK_CLIENT_SECRET: 'not-the-secret' }, minTtl: 999_999 }).catch(
      (e: unknown) => e,
    );
    expect(api).toMatchObject({ code: 'INVALID_CLIENT', exitCode: 1 });

    const logout = await xtalk(['logout'], { env: wrong, home: good.home });
    expect(logout.code, logout.stderr).toBe(5);
    expect(logout.stderr).toMatch(/invalid_client.*xtalk sent client id/);
    expect([login, post, device, refresh, logout].map((r) => r.stderr).join('')).not.toContain('not-the-secret');
  });
});

describe('a token response without `scope` grants the scope requested (RFC 6749 §5.1)', () => {
  it('`token --json` shows the scope asked for at login and kept by refresh; whoami and status as usual', async () => {
    const p = await provider({ omitTokenScope: true });
    const scope = 'openid email offline_access';
    const env = confidential(p, { XTALK_SCOPE: scope });
    const login = await xtalk(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    const home = login.home;
    const token = await xtalk(['token', '--json'], { env, home });
    expect(token.code, token.stderr).toBe(0);
    expect(JSON.parse(token.stdout)).toMatchObject({ scope });

    const refresh = await xtalk(['refresh', '--json'], { env, home });
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(JSON.parse(refresh.stdout)).toMatchObject({ scope });
    const after = await xtalk(['token', '--json'], { env, home });
    expect(JSON.parse(after.stdout)).toMatchObject({ scope, access_token: JSON.parse(refresh.stdout).access_token });
    expect(p.refreshGrantCount()).toBe(1);

    const who = await xtalk(['whoami', '--json'], { env, home });
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ sub: 'alice', email: 'alice@example.test', current: true });
    const status = await xtalk(['status', '--json'], { env, home });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ sub: 'alice', current: true })]);
  });

  it('the default scope, and a device login', async () => {
    const p = await provider({ omitTokenScope: true, deviceFlow: true });
    const env = confidential(p);
    const login = await xtalk(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    const token = await xtalk(['token', '--json'], { env, home: login.home });
    expect(JSON.parse(token.stdout).scope).toBe('openid profile email offline_access');

    const ctx = createTestContext({ env: { ...env, XTALK_SCOPE: 'openid offline_access' }, realSleepMs: () => 20 });
    const done = run(['login', '--device', '--no-browser'], ctx);
    const match = await waitFor(() => /on any device:\n(\S+)\nand enter the code:\n\n {4}(\S+)/.exec(ctx.stderr.text) ?? undefined);
    await approveDeviceWithHttp(match[1]!, { login: 'dora', userCode: match[2]! });
    expect(await done, ctx.stderr.text).toBe(0);
    const device = await xtalk(['token', '--json'], { env, home: ctx.home });
    expect(JSON.parse(device.stdout).scope).toBe('openid offline_access');
  });
});
