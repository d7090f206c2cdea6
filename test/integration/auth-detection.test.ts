import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext, type TestContext, type TestContextOptions } from '../fakes/context.js';
import { waitFor } from '../helpers/wait-for.js';
import { approveDeviceWithHttp, signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider, type TestProviderOptions } from '../provider/provider.js';

// Every character form-encoding changes: sent raw in the body, encoded in Basic.
const SECRET = 'se+cr%et:wi th/sl=ash';
const LEARNED_NOTICE = 'The provider refused the client secret in HTTP Basic and accepted it in the request body (client_secret_post)';

const started: TestProvider[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
});

async function provider(opts: TestProviderOptions = {}): Promise<TestProvider> {
  const p = await startTestProvider({ clientSecret: SECRET, ...opts });
  started.push(p);
  return p;
}

const confidential = (p: TestProvider, extra: Record<string, string | undefined> = {}) => ({
  XTALK_ISSUER: p.issuer,
  XTALK_CLIENT_ID: p.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: p.confidentialClient.clientSecret,
  ...extra,
});

async function xtalk(args: string[], opts: TestContextOptions = {}) {
  const ctx = createTestContext({ ...opts, browser: (url) => signInWithHttp(url, { login: 'alice' }) });
  const code = await run(args, ctx);
  await Promise.allSettled(ctx.browserRuns);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text, home: ctx.home };
}

/** What the store remembers for this provider's confidential client, read the way the store reads it. */
function learned(home: string, p: TestProvider) {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  try {
    return store.learnedAuthMethod(p.issuer, p.confidentialClient.clientId);
  } finally {
    store.close();
  }
}

/** The methods the provider saw, one per client-authenticated request, from `from` on. */
const methods = (p: TestProvider, from = 0) => p.clientAuthentications.slice(from).map((a) => `${a.path} ${a.method}`);

const count = (text: string, part: string) => text.split(part).length - 1;

describe('a provider that does not form-decode HTTP Basic credentials', () => {
  it('login retries once in the body, says so once, remembers it; refresh, login and logout then use the body directly', async () => {
    const p = await provider({ basicCredentialsNotFormDecoded: true });
    const env = confidential(p);
    const first = await xtalk(['login'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(methods(p)).toEqual(['/token client_secret_basic', '/token client_secret_post']);
    expect(p.grantErrors.map((e) => e.error)).toEqual(['invalid_client']);
    expect(count(first.stderr, LEARNED_NOTICE)).toBe(1);
    expect(first.stderr).toContain(`for client "${p.confidentialClient.clientId}" at ${p.issuer}`);
    expect(first.stderr).not.toContain(SECRET);
    expect(learned(first.home, p)).toBe('client_secret_post');

    let seen = p.clientAuthentications.length;
    const refresh = await xtalk(['refresh'], { env, home: first.home });
    expect(refresh.code, refresh.stderr).toBe(0);
    const again = await xtalk(['login'], { env, home: first.home });
    expect(again.code, again.stderr).toBe(0);
    expect(methods(p, seen)).toEqual(['/token client_secret_post', '/token client_secret_post']);
    expect(refresh.stderr + again.stderr).not.toContain(LEARNED_NOTICE);

    const doctor = await xtalk(['doctor'], { env, home: first.home });
    expect(doctor.stdout).toMatch(
      new RegExp(
        `✓ learned +at ${p.issuer}: client "${p.confidentialClient.clientId}" authenticates with client_secret_post \\(the provider refused its secret in HTTP Basic\\)`,
      ),
    );
    const json = await xtalk(['doctor', '--json'], { env, home: first.home });
    expect(JSON.parse(json.stdout).checks).toContainEqual({
      name: 'learned',
      status: 'ok',
      detail: `at ${p.issuer}: client "${p.confidentialClient.clientId}" authenticates with client_secret_post (the provider refused its secret in HTTP Basic)`,
    });

    seen = p.clientAuthentications.length;
    const logout = await xtalk(['logout'], { env, home: first.home });
    expect(logout.code, logout.stderr).toBe(0);
    const revoked = methods(p, seen);
    expect(revoked.length).toBeGreaterThan(0);
    expect(new Set(revoked)).toEqual(new Set(['/token/revocation client_secret_post']));
  });

  it('a refresh grant detects too: the retry is part of the grant, its rotated refresh token is stored and renews the session', async () => {
    const p = await provider({ basicCredentialsNotFormDecoded: true });
    const env = confidential(p);
    const login = await xtalk(['login'], { env: { ...env, XTALK_TOKEN_AUTH_METHOD: 'client_secret_post' } });
    expect(login.code, login.stderr).toBe(0);
    expect(learned(login.home, p)).toBeUndefined();
    const seen = p.clientAuthentications.length;
    const first = await xtalk(['refresh'], { env, home: login.home });
    expect(first.code, first.stderr).toBe(0);
    expect(count(first.stderr, LEARNED_NOTICE)).toBe(1);
    expect(learned(login.home, p)).toBe('client_secret_post');
    // Rotating refresh tokens: the second refresh works only with the token the retried grant returned.
    const second = await xtalk(['refresh'], { env, home: login.home });
    expect(second.code, second.stderr).toBe(0);
    expect(methods(p, seen)).toEqual(['/token client_secret_basic', '/token client_secret_post', '/token client_secret_post']);
    expect(p.refreshGrantCount()).toBe(2);
    expect(p.grantErrors.map((e) => `${e.grantType} ${e.error}`)).toEqual(['refresh_token invalid_client']);
  });

  it('the device flow detects too: the device authorization request is retried in the body, the polls use it', async () => {
    const p = await provider({ basicCredentialsNotFormDecoded: true, deviceFlow: true });
    const ctx = createTestContext({ env: { ...confidential(p), DISPLAY: undefined }, realSleepMs: () => 20 });
    const done = run(['login', '--device'], ctx);
    const { verificationUri, userCode } = await deviceInstructions(ctx);
    await approveDeviceWithHttp(verificationUri, { login: 'wes', userCode });
    expect(await done, ctx.stderr.text).toBe(0);
    const sent = methods(p);
    expect(sent.slice(0, 2)).toEqual(['/device/auth client_secret_basic', '/device/auth client_secret_post']);
    expect(new Set(sent.slice(2))).toEqual(new Set(['/token client_secret_post']));
    expect(count(ctx.stderr.text, LEARNED_NOTICE)).toBe(1);
    expect(learned(ctx.home, p)).toBe('client_secret_post');
  });

  it('XTALK_TOKEN_AUTH_METHOD=client_secret_basic forces Basic: no retry, INVALID_CLIENT, nothing remembered', async () => {
    const p = await provider({ basicCredentialsNotFormDecoded: true });
    const res = await xtalk(['login'], { env: confidential(p, { XTALK_TOKEN_AUTH_METHOD: 'client_secret_basic' }) });
    expect(res.code).toBe(1);
    expect(methods(p)).toEqual(['/token client_secret_basic']);
    expect(res.stderr).toMatch(
      /invalid_client.*; xtalk sent client id "xtalk-confidential" and the client secret with client_secret_basic\./,
    );
    expect(res.stderr).toContain('may expect XTALK_TOKEN_AUTH_METHOD=client_secret_post');
    expect(res.stderr).not.toContain(LEARNED_NOTICE);
    expect(learned(res.home, p)).toBeUndefined();
  });

  it('a discovery document that lists Basic but not the body gets no retry', async () => {
    const p = await provider({ basicCredentialsNotFormDecoded: true, tokenEndpointAuthMethods: ['client_secret_basic', 'none'] });
    const res = await xtalk(['login'], { env: confidential(p) });
    expect(res.code).toBe(1);
    expect(methods(p)).toEqual(['/token client_secret_basic']);
    expect(res.stderr).toMatch(/invalid_client.*with client_secret_basic\./);
    expect(learned(res.home, p)).toBeUndefined();
  });

  it('a wrong secret is refused both ways: one retry, the message and hint say both were tried, nothing remembered', async () => {
    const p = await provider({ basicCredentialsNotFormDecoded: true });
    const res = await xtalk(['login'], { env: confidential(p, { XTALK_CLIENT_SECRET: 'not-the-secret' }) });
    expect(res.code).toBe(1);
    expect(methods(p)).toEqual(['/token client_secret_basic', '/token client_secret_post']);
    expect(res.stderr).toContain('the client secret with client_secret_basic, then with client_secret_post.');
    expect(res.stderr).toContain('refused them in the Authorization header and in the body');
    expect(res.stderr).not.toContain('not-the-secret');
    expect(learned(res.home, p)).toBeUndefined();
  });
});

describe('a provider that form-decodes Basic credentials', () => {
  it('keeps Basic with no retry and remembers nothing; doctor shows no learned line', async () => {
    const p = await provider();
    const env = confidential(p);
    const login = await xtalk(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    const refresh = await xtalk(['refresh'], { env, home: login.home });
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(methods(p)).toEqual(['/token client_secret_basic', '/token client_secret_basic']);
    expect(p.grantErrors).toEqual([]);
    expect(login.stderr).not.toContain(LEARNED_NOTICE);
    expect(learned(login.home, p)).toBeUndefined();
    const doctor = await xtalk(['doctor', '--json'], { env, home: login.home });
    expect(JSON.parse(doctor.stdout).checks.map((c: { name: string }) => c.name)).not.toContain('learned');
  });
});

describe('doctor and the learned scope', () => {
  it('shows the scope a login settled on after invalid_scope', async () => {
    const p = await provider({ hideScopesSupported: true, rejectScopes: ['offline_access'] });
    const env = confidential(p);
    const login = await xtalk(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    const doctor = await xtalk(['doctor'], { env, home: login.home });
    expect(doctor.stdout).toContain(`✓ learned`);
    expect(doctor.stdout).toContain(`at ${p.issuer}: scope "openid profile email" (the provider refused more)`);
    const json = await xtalk(['doctor', '--json'], { env, home: login.home });
    expect(JSON.parse(json.stdout).checks).toContainEqual({
      name: 'learned',
      status: 'ok',
      detail: `at ${p.issuer}: scope "openid profile email" (the provider refused more)`,
    });
  });
});

async function deviceInstructions(ctx: TestContext) {
  const match = await waitFor(
    () => /open this page in a browser on any device:\n(\S+)\nand enter the code:\n\n {4}(\S+)/.exec(ctx.stderr.text) ?? undefined,
  );
  return { verificationUri: match[1]!, userCode: match[2]! };
}
