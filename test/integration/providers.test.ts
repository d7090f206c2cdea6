import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { ProviderClient } from '../../src/oidc/client.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext, providerTransport, type TestContextOptions } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider, type TestProviderOptions } from '../provider/provider.js';

const started: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
});

async function provider(opts: TestProviderOptions = {}): Promise<TestProvider> {
  const p = await startTestProvider(opts);
  started.push(p);
  return p;
}

const confidential = (p: TestProvider, extra: Record<string, string | undefined> = {}) => ({
  XTALK_ISSUER: p.issuer,
  XTALK_CLIENT_ID: p.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: p.confidentialClient.clientSecret,
  ...extra,
});

async function xtalk(args: string[], opts: TestContextOptions & { login?: string; fetchLog?: string[] } = {}) {
  const ctx = createTestContext({ ...opts, browser: opts.browser ?? ((url) => signInWithHttp(url, { login: opts.login ?? 'alice' })) });
  const log = opts.fetchLog;
  if (log) {
    const logged: typeof fetch = (input, init) => {
      log.push(String(input));
      return providerTransport(input, init);
    };
    ctx.discover = (settings) => ProviderClient.discover({ ...settings, fetch: logged });
  }
  const code = await run(args, ctx);
  await Promise.allSettled(ctx.browserRuns);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text, opened: ctx.opened, home: ctx.home, ctx };
}

function storeOf(home: string) {
  return openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
}

async function storedTokens(home: string): Promise<{ issuer: string; access: string[]; refresh: string | undefined }> {
  const store = storeOf(home);
  try {
    const account = store.currentAccount()!;
    const access = (await store.unexpiredAccessTokens(account.id, Date.now())).map((t) => t.accessToken);
    return { issuer: account.issuer, access, refresh: (await store.refreshToken(account.id))?.refreshToken };
  } finally {
    store.close();
  }
}

/** The scope of each authorization URL printed on stderr (the browser gets a start link instead). */
function askedScopes(stderr: string): (string | null)[] {
  return [...stderr.matchAll(/Open this URL to sign in:\n(\S+)/g)].map((m) => new URL(m[1]!).searchParams.get('scope'));
}

/** Every line starting with ✗ is followed by a hint line. */
function expectHintPerError(stderr: string): void {
  const lines = stderr.split('\n');
  lines.forEach((line, i) => {
    if (line.startsWith('✗ ')) expect(lines[i + 1], stderr).toMatch(/^ {2}hint: \S/);
  });
}

describe('issuers exactly as the provider names them', () => {
  it.each(['/', '/oidc/'])('a trailing-slash issuer (%s) works for login, refresh, --account, doctor and logout', async (issuerPath) => {
    const p = await provider({ issuerPath });
    expect(p.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/(oidc\/)?$/);
    const env = confidential(p);
    const login = await xtalk(['login'], { env, login: 'sam' });
    expect(login.code, login.stderr).toBe(0);
    const home = login.home;
    expect((await storedTokens(home)).issuer).toBe(p.issuer);

    // The client secret goes with the refresh: config and account issuers are the same string.
    const refresh = await xtalk(['refresh', '--json'], { env, home });
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(p.grantErrors.filter((e) => e.error === 'invalid_client')).toEqual([]);
    const who = await xtalk(['whoami', '--json', '--account', 'sam'], { env, home });
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ issuer: p.issuer, sub: 'sam' });
    const token = await xtalk(['token', '--account', 'sam'], { env, home });
    expect(token.stdout).toBe(`${JSON.parse(refresh.stdout).access_token}\n`);

    const doctor = await xtalk(['doctor', '--json'], { env, home });
    const checks = Object.fromEntries(
      (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks.map((c) => [c.name, c]),
    );
    expect(checks.discovery, doctor.stdout).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(`${p.issuer.replace(/\/$/, '')}/.well-known/openid-configuration (HTTP 200`),
    });
    expect(checks.configuration?.detail ?? checks.config?.detail).toContain(p.issuer);

    const tokens = await storedTokens(home);
    const logout = await xtalk(['logout'], { env, home });
    expect(logout.code, logout.stderr).toBe(0);
    for (const t of [...tokens.access, tokens.refresh!]) expect((await p.introspect(t)).active).toBe(false);
  });

  it('refuses an issuer that differs from the document by a trailing slash, naming the exact one to set', async () => {
    const p = await provider({ issuerPath: '/' });
    const res = await xtalk(['login'], { env: confidential(p, { XTALK_ISSUER: p.issuer.replace(/\/$/, '') }) });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`names the issuer "${p.issuer}", not "${p.issuer.replace(/\/$/, '')}"`);
    expect(res.stderr).toContain(`hint: Issuers compare exactly (a trailing slash counts): set XTALK_ISSUER to exactly "${p.issuer}"`);
    expect(res.opened).toEqual([]);
  });
});

describe('discovery that survives real deployments', () => {
  it('follows a same-origin redirect to the slash form (a DOT-like `/o` issuer), and takes a full discovery URL verbatim (env, --issuer, .env)', async () => {
    const p = await provider({ issuerPath: '/o', discoveryTrailingSlash: true });
    expect(p.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/o$/);
    const url = `${p.issuer}/.well-known/openid-configuration/`;
    const fetched: string[] = [];
    const viaRedirect = await xtalk(['login'], { env: confidential(p), fetchLog: fetched });
    expect(viaRedirect.code, viaRedirect.stderr).toBe(0);
    expect(fetched.slice(0, 2)).toEqual([`${p.issuer}/.well-known/openid-configuration`, url]);
    const doctor = await xtalk(['doctor'], { env: confidential(p), home: viaRedirect.home });
    expect(doctor.stdout).toMatch(
      new RegExp(
        `discovery\\s+${escapeRegExp(url)} \\(HTTP 200, \\d+ ms; followed HTTP 301 from ${escapeRegExp(`${p.issuer}/.well-known/openid-configuration`)}\\); scopes: "openid profile email offline_access" \\(defaults the provider lists\\)`,
      ),
    );

    const hows: { issuer?: string; args?: string[]; dotenv?: string }[] = [
      { issuer: url },
      { issuer: url.slice(0, -1) },
      { args: ['--issuer', url] },
      { dotenv: `OIDC_DISCOVERY_ENDPOINT=${url}\n` },
    ];
    for (const how of hows) {
      const home = createTestContext().home;
      if (how.dotenv) writeFileSync(join(home, '.env'), how.dotenv);
      const log: string[] = [];
      const env = confidential(p, { XTALK_ISSUER: how.issuer });
      const res = await xtalk(['login', ...(how.args ?? [])], { env, home, cwd: home, fetchLog: log });
      expect(res.code, `${JSON.stringify(how)}: ${res.stderr}`).toBe(0);
      expect((await storedTokens(home)).issuer).toBe(p.issuer);
      expect(log[0]).toBe(how.issuer ?? url);
      // The same configuration refreshes the same way (refresh has no --issuer: the environment then).
      const refresh = await xtalk(['refresh'], { env: how.args ? { ...env, XTALK_ISSUER: url } : env, home, cwd: home });
      expect(refresh.code, refresh.stderr).toBe(0);
    }
    const direct = await xtalk(['doctor'], { env: confidential(p, { XTALK_ISSUER: url }) });
    expect(direct.stdout).toContain(`issuer ${p.issuer} (environment), discovery URL ${url}`);
    expect(direct.stdout).toMatch(new RegExp(`discovery\\s+${escapeRegExp(url)} \\(HTTP 200, \\d+ ms\\); scopes`));
  });

  it('refuses a discovery redirect to another origin, naming the Location and what to set', async () => {
    const other = await provider();
    const redirector = await httpServer((_req, res) => {
      res.writeHead(302, { location: `${other.issuer}/.well-known/openid-configuration` }).end();
    });
    const res = await xtalk(['login'], { env: { XTALK_ISSUER: redirector.url, XTALK_CLIENT_ID: 'c' } });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `Discovery at ${redirector.url}/.well-known/openid-configuration redirects (HTTP 302) to another origin: Location "${other.issuer}/.well-known/openid-configuration"`,
    );
    expect(res.stderr).toContain(`hint: If ${other.issuer} is really your provider, set XTALK_ISSUER`);
    expect(res.opened).toEqual([]);
    const doctor = await xtalk(['doctor'], { env: { XTALK_ISSUER: redirector.url, XTALK_CLIENT_ID: 'c' } });
    expect(doctor.stdout).toMatch(/✗ discovery\s+Discovery at .* to another origin: Location/);
  });

  it('names the URL tried on a 404 and gives up after 3 redirects', async () => {
    const notFound = await httpServer((_req, res) => res.writeHead(404).end());
    const res = await xtalk(['login'], { env: { XTALK_ISSUER: `${notFound.url}/realm/`, XTALK_CLIENT_ID: 'c' } });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `No discovery document at ${notFound.url}/realm/.well-known/openid-configuration (the issuer ${notFound.url}/realm/ plus /.well-known/openid-configuration): HTTP 404`,
    );
    expect(res.stderr).toMatch(/hint: .*set XTALK_ISSUER \(or OIDC_DISCOVERY_ENDPOINT\) to that full URL/);

    let hops = 0;
    const loop = await httpServer((req, res) => {
      hops++;
      res.writeHead(301, { location: `${req.url}x` }).end();
    });
    const looped = await xtalk(['login'], { env: { XTALK_ISSUER: loop.url, XTALK_CLIENT_ID: 'c' } });
    expect(looped.code).toBe(1);
    expect(looped.stderr).toContain('still redirects after 3 hops');
    expect(hops).toBe(4);
    expectHintPerError(res.stderr + looped.stderr);
  });
});

describe('scopes a provider does not know', () => {
  it('retries without offline_access, says so, warns about renewal, and remembers the scope per issuer', async () => {
    const p = await provider({
      hideScopesSupported: true,
      rejectScopes: ['offline_access'],
      refreshOnlyWithOfflineAccess: true,
      accessTokenTtl: 600,
    });
    const env = confidential(p);
    const first = await xtalk(['login'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(askedScopes(first.stderr)).toEqual(['openid profile email offline_access', 'openid profile email']);
    expect(first.stderr).toContain(
      'The provider refused the scope offline_access (invalid_scope) and publishes no scopes_supported; signing in again with "openid profile email".',
    );
    expect(first.stderr).toContain(
      'this session cannot renew itself: when the access token expires, `xtalk token` asks for `xtalk login` (exit 4)',
    );
    expect((await storedTokens(first.home)).refresh).toBeUndefined();

    const again = await xtalk(['login'], { env, home: first.home });
    expect(again.code, again.stderr).toBe(0);
    expect(askedScopes(again.stderr)).toEqual(['openid profile email']);
    expect(again.stderr).not.toContain('invalid_scope');

    const later = await xtalk(['token'], { env, home: first.home, now: () => Date.now() + 601_000 });
    expect(later.code).toBe(4);
    expect(later.stderr).toMatch(/hint: .*xtalk login/);
  });

  it('drops profile and email next, and an explicit --scope is asked once and fails with a hint', async () => {
    const p = await provider({ hideScopesSupported: true, rejectScopes: ['offline_access', 'email'] });
    const env = confidential(p);
    const res = await xtalk(['login'], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(askedScopes(res.stderr)).toEqual(['openid profile email offline_access', 'openid profile email', 'openid']);
    expect(res.stderr).toContain('refused the scopes profile, email (invalid_scope)');

    const explicit = await xtalk(['login', '--scope', 'openid email'], { env });
    expect(explicit.code).toBe(1);
    expect(explicit.opened).toHaveLength(1);
    expect(explicit.stderr).toMatch(/✗ The provider refused the sign-in \(invalid_scope\)/);
    expectHintPerError(explicit.stderr);
    expect(explicit.stderr).toContain('hint: Ask only for scopes the provider knows');
  });
});

describe('HS256 ID tokens', () => {
  it('refuses them by default with a hint naming XTALK_ID_TOKEN_SIGNING_ALG, and accepts them (MAC checked) when set', async () => {
    const p = await provider({ confidentialIdTokenAlg: 'HS256' });
    const refused = await xtalk(['login'], { env: confidential(p) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/✗ The token exchange failed validation: .*alg "HS256"/);
    expect(refused.stderr).toContain(
      'hint: Nothing was stored. The provider lists HS256 for ID tokens: if this client is registered for HS256 ID tokens, set XTALK_ID_TOKEN_SIGNING_ALG=HS256',
    );

    const env = confidential(p, { XTALK_ID_TOKEN_SIGNING_ALG: 'HS256' });
    const ok = await xtalk(['login', '--json'], { env, login: 'hana' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ sub: 'hana', username: 'hana' });
    const refresh = await xtalk(['refresh'], { env, home: ok.home });
    expect(refresh.code, refresh.stderr).toBe(0);
    const doctor = await xtalk(['doctor'], { env, home: ok.home });
    expect(doctor.stdout).toContain('ID tokens HS256 (environment)');

    // A client set to HS256 at a provider signing with its keys is refused, with the way back.
    const rsa = await provider();
    const wrong = await xtalk(['login'], { env: confidential(rsa, { XTALK_ID_TOKEN_SIGNING_ALG: 'HS256' }) });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('signs ID tokens for this client with RS256, not HS256: set XTALK_ID_TOKEN_SIGNING_ALG=RS256');
  });
});

describe('client credentials', () => {
  const clientId = 'xtalk-cli.v2_~x';
  const clientSecret = 'p a+ss/wo~rd*-._!';

  it('sends the Basic header form-urlencoded like URLSearchParams (exact bytes)', async () => {
    const p = await provider({ confidentialClientId: clientId, clientSecret });
    const res = await xtalk(['login'], { env: confidential(p) });
    expect(res.code, res.stderr).toBe(0);
    const expected = `Basic ${Buffer.from('xtalk-cli.v2_%7Ex:p+a%2Bss%2Fwo%7Erd*-._%21').toString('base64')}`;
    expect(p.tokenAuthorizations).toEqual([expected]);
  });

  it('sends the secret in the body with client_secret_post, and names method and client id on invalid_client', async () => {
    const p = await provider({ confidentialClientId: clientId, clientSecret });
    const post = await xtalk(['login'], { env: confidential(p, { XTALK_TOKEN_AUTH_METHOD: 'client_secret_post' }) });
    expect(post.code, post.stderr).toBe(0);
    expect(p.tokenAuthorizations).toEqual([undefined]);

    const none = await xtalk(['login'], { env: confidential(p, { XTALK_TOKEN_AUTH_METHOD: 'none' }) });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`xtalk sent client id "${clientId}" and no client secret (method none)`);
    expect(none.stderr).toContain('hint: A confidential client needs XTALK_CLIENT_SECRET');

    const wrong = await xtalk(['login'], { env: confidential(p, { XTALK_CLIENT_SECRET: 'not-the-secret' }) });
    expect(wrong.code).toBe(1);
    // Discovery allows both methods and none is configured: Basic, then once in the body (auth-detection.test.ts).
    expect(wrong.stderr).toMatch(
      /invalid_client.*; xtalk sent client id "xtalk-cli\.v2_~x" and the client secret with client_secret_basic, then with client_secret_post\./,
    );
    expect(wrong.stderr).toContain(
      'hint: Check XTALK_CLIENT_ID and XTALK_CLIENT_SECRET: the provider refused them in the Authorization header and in the body.',
    );
    const forced = await xtalk(['login'], {
      env: confidential(p, { XTALK_CLIENT_SECRET: 'not-the-secret', XTALK_TOKEN_AUTH_METHOD: 'client_secret_basic' }),
    });
    expect(forced.stderr).toMatch(
      /invalid_client.*; xtalk sent client id "xtalk-cli\.v2_~x" and the client secret with client_secret_basic\./,
    );
    expect(forced.stderr).toContain(
      'hint: Check XTALK_CLIENT_ID and XTALK_CLIENT_SECRET; if they are right, the provider may expect XTALK_TOKEN_AUTH_METHOD=client_secret_post',
    );
    expect(wrong.stderr).not.toContain('not-the-secret');
    expectHintPerError(none.stderr + wrong.stderr + forced.stderr);
  });
});

describe('providers that answer tersely', () => {
  it('treats a bare 400/401 to the refresh grant as a rejected session (exit 4), 5xx and network failures as errors (exit 1)', async () => {
    const p = await provider();
    const env = confidential(p);
    const login = await xtalk(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    const answers: Record<string, () => Promise<Response>> = {
      400: async () => new Response('', { status: 400 }),
      401: async () => new Response('Unauthorized', { status: 401, headers: { 'content-type': 'text/plain' } }),
      502: async () => new Response('', { status: 502 }),
      network: async () => {
        throw new TypeError('fetch failed', { cause: new Error('connect ECONNRESET') });
      },
    };
    const expected: Record<string, number> = { 400: 4, 401: 4, 502: 1, network: 1 };
    for (const [kind, answer] of Object.entries(answers)) {
      const ctx = createTestContext({ env, home: login.home });
      const terse: typeof fetch = async (input, init) => (String(input).endsWith('/token') ? answer() : providerTransport(input, init));
      ctx.discover = (settings) => ProviderClient.discover({ ...settings, fetch: terse });
      const code = await run(['refresh'], ctx);
      expect(code, `${kind}: ${ctx.stderr.text}`).toBe(expected[kind]);
      expectHintPerError(ctx.stderr.text);
      if (expected[kind] === 4) expect(ctx.stderr.text).toMatch(/without an error code[\s\S]*hint: .*xtalk login/);
    }
  });
});

describe('the newest token is the one just received', () => {
  it('prints the last token issued after two refreshes within a second, even when it expires sooner', async () => {
    const lifetimes = [3600, 1800, 900];
    const p = await provider({ accessTokenTtl: () => lifetimes.shift() ?? 600 });
    const env = confidential(p);
    const login = await xtalk(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    const first = await xtalk(['refresh', '--json'], { env, home: login.home });
    const second = await xtalk(['refresh', '--json'], { env, home: login.home });
    expect(first.code + second.code, first.stderr + second.stderr).toBe(0);
    const last = JSON.parse(second.stdout) as { access_token: string; expires_at: string };
    expect(JSON.parse(first.stdout).access_token).not.toBe(last.access_token);
    const token = await xtalk(['token'], { env, home: login.home });
    expect(token.stdout).toBe(`${last.access_token}\n`);
    // Expiry from the raw expires_in when the answer arrived: 900 s from about now.
    expect(Math.abs(Date.parse(last.expires_at) - (Date.now() + 900_000))).toBeLessThan(30_000);
  });
});

async function httpServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  started.push({
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
