/**
 * The built CLI against Django OAuth Toolkit 1.7 as shipped, signed in through headless Chromium
 * (Django's login form, DOT's Authorize button): login, whoami, introspection, refresh with
 * rotation, single-flight refresh across processes, logout through XTALK_REVOCATION_ENDPOINT.
 * Once for an RS256 application (issuer as DOT names it, no discovery fix, no offline_access scope)
 * and once for an HS256 application (XTALK_ID_TOKEN_SIGNING_ALG=HS256).
 * dot-harness.test.ts proves the provider side on its own.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../e2e/cli.js';
import { inspectStore } from '../e2e/xtalk-process.js';
import { dotBrowserCommand } from './browser.js';
import { dotAvailability, startDot, type DotApplication, type DotProvider, type IdTokenAlg } from './dot-provider.js';

const { run, skip, reason: unavailable } = dotAvailability();

let dot: DotProvider;
let base: string;
beforeAll(async () => {
  if (!run) return;
  base = mkdtempSync(join(tmpdir(), 'xtalk-interop-'));
  dot = await startDot({ accessTokenSeconds: 30 });
}, 120_000);
afterAll(async () => {
  await dot?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
});

const show = (r: CliResult) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** What DOT answered on the token endpoint since `from`: refresh grants, split by outcome. */
async function refreshGrantsSince(from: number) {
  const grants = (await dot.grants()).slice(from).filter((g) => g.path === '/o/token/' && g.grant_type === 'refresh_token');
  return { ok: grants.filter((g) => g.status === 200).length, failed: grants.filter((g) => g.status !== 200) };
}

/** A refresh_token grant sent straight to DOT with `app`'s credentials. */
async function refreshAtDot(app: DotApplication, refreshToken: string) {
  const res = await fetch(dot.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: app.clientId,
      client_secret: app.clientSecret,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function storedRefreshToken(home: string): Promise<string> {
  const snapshot = await inspectStore(home, { decrypt: true });
  const token = snapshot.refreshTokens[dot.user.sub];
  if (!token) throw new Error(`xtalk stored no refresh token for sub ${dot.user.sub}: ${JSON.stringify(snapshot.users)}`);
  return token;
}

function interopRun(alg: IdTokenAlg, extraEnv: Record<string, string>) {
  let home: string;
  let app: DotApplication;
  const seen = new Set<string>();
  let loggedIn = false;

  const env = (extra: Record<string, string | undefined> = {}) => ({
    XTALK_HOME: home,
    XTALK_ISSUER: dot.issuer,
    XTALK_CLIENT_ID: app.clientId,
    XTALK_CLIENT_SECRET: app.clientSecret,
    XTALK_PORT: String(dot.callbackPort),
    XTALK_REVOCATION_ENDPOINT: dot.revocationEndpoint,
    XTALK_CREDENTIAL_STORE: 'file',
    XTALK_TEST_BROWSER_LOG: join(base, `${alg}-browser.log`),
    ...extraEnv,
    ...extra,
  });
  const xtalk = (args: string[], extra: Record<string, string | undefined> = {}) => runCli(args, { env: env(extra), timeoutMs: 90_000 });
  const needLogin = () => {
    if (!loggedIn) throw new Error(`xtalk login against DOT (${alg}) did not succeed; see the login test`);
  };
  const token = async () => {
    const r = await xtalk(['token']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^\S+\n$/);
    seen.add(r.stdout.trim());
    return r.stdout.trim();
  };

  beforeAll(() => {
    home = join(base, alg);
    app = dot.applications[alg];
  });

  it('login through Django’s login form and DOT’s Authorize button, again without offline_access after invalid_scope', async () => {
    const from = (await dot.authorizations()).length;
    const r = await xtalk(['login', '--timeout', '60'], { XTALK_BROWSER: dotBrowserCommand(dot.user) });
    let browserLog = '';
    try {
      browserLog = readFileSync(join(base, `${alg}-browser.log`), 'utf8');
    } catch {}
    expect(r.code, `${show(r)}\nbrowser:\n${browserLog}`).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Logged in to ${dot.issuer} as ${dot.user.username} (${dot.user.email})`);
    loggedIn = true;
    // DOT as shipped knows no offline_access: the first sign-in ends with invalid_scope, and xtalk
    // says so and asks once more without it.
    expect((await dot.authorizations()).slice(from).map((a) => a.scope)).toEqual([
      'openid profile email offline_access',
      'openid profile email',
    ]);
    expect(r.stderr).toMatch(/offline_access/);
  }, 120_000);

  it('whoami: username, email, group and sub as DOT issued them', async () => {
    needLogin();
    const r = await xtalk(['whoami', '--json']);
    expect(r.code, show(r)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      issuer: dot.issuer,
      sub: dot.user.sub,
      username: dot.user.username,
      email: dot.user.email,
      current: true,
      credential_store: 'file',
      claims: { group: dot.user.group },
    });
  });

  it('token: active at DOT’s introspection endpoint, issued to this application', async () => {
    needLogin();
    const access = await token();
    expect(await dot.introspect(access)).toMatchObject({ active: true, client_id: app.clientId, username: dot.user.username });
  });

  it('refresh rotates: the old refresh token is refused at DOT, the new one is stored, a second refresh works', async () => {
    needLogin();
    const before = await storedRefreshToken(home);
    seen.add(before);
    for (let round = 0; round < 2; round++) {
      const old = await storedRefreshToken(home);
      const from = (await dot.grants()).length;
      const r = await xtalk(['refresh']);
      expect(r.code, `round ${round}: ${show(r)}`).toBe(0);
      expect(await refreshGrantsSince(from), `round ${round}`).toEqual({ ok: 1, failed: [] });

      const now = await storedRefreshToken(home);
      seen.add(now);
      expect(now, `round ${round}: the stored refresh token did not change`).not.toBe(old);
      const dotRows = (await dot.tokens()).refresh.filter((t) => t.client_id === app.clientId);
      expect(dotRows.find((t) => t.token === old)?.revoked, `round ${round}: DOT did not revoke the old refresh token`).toBeTruthy();
      expect(
        dotRows.filter((t) => !t.revoked).map((t) => t.token),
        `round ${round}: the stored refresh token is DOT's only live one`,
      ).toEqual([now]);

      const access = await token();
      expect(await dot.introspect(access), `round ${round}`).toMatchObject({ active: true, client_id: app.clientId });
      const newest = (await dot.tokens()).access.filter((t) => t.client_id === app.clientId).at(-1);
      expect(access, `round ${round}: xtalk token printed an older token than DOT's newest`).toBe(newest?.token);
    }
    // Refused at DOT (after the rounds above, so that trying it leaves xtalk's session alone).
    expect(await refreshAtDot(app, before)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  }, 120_000);

  it('10 parallel `xtalk token` after expiry: exactly one refresh at DOT, one token, active', async () => {
    needLogin();
    const newest = (await dot.tokens()).access.filter((t) => t.client_id === app.clientId).at(-1)!;
    const wait = Date.parse(newest.expires) - Date.now() + 1000;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    expect((await dot.introspect(newest.token)).active).toBe(false);

    const from = (await dot.grants()).length;
    const results = await Promise.all(Array.from({ length: 10 }, () => xtalk(['token'])));
    for (const r of results) expect(r.code, show(r)).toBe(0);
    const printed = new Set(results.map((r) => r.stdout));
    expect(printed.size, [...printed].join('')).toBe(1);
    const access = [...printed][0]!.trim();
    seen.add(access);
    expect(await refreshGrantsSince(from)).toEqual({ ok: 1, failed: [] });
    expect(await dot.introspect(access)).toMatchObject({ active: true, client_id: app.clientId });
    seen.add(await storedRefreshToken(home));
  }, 120_000);

  it('logout through XTALK_REVOCATION_ENDPOINT: every token inactive at DOT, then whoami exits 4', async () => {
    needLogin();
    const last = await storedRefreshToken(home);
    const dotBefore = await dot.tokens();
    const from = (await dot.grants()).length;
    for (const t of dotBefore.access.filter((t) => t.client_id === app.clientId)) seen.add(t.token);

    const r = await xtalk(['logout']);
    expect(r.code, show(r)).toBe(0);
    const revocations = (await dot.grants()).slice(from).filter((g) => g.path === '/o/revoke_token/');
    expect(revocations.filter((g) => g.status !== 200)).toEqual([]);
    expect(revocations.length).toBeGreaterThan(0);

    const dotAfter = await dot.tokens();
    for (const t of dotAfter.refresh.filter((t) => t.client_id === app.clientId)) {
      expect(t.revoked, `refresh token #${t.id} still live at DOT`).toBeTruthy();
    }
    const refreshTokens = new Set(dotBefore.refresh.map((t) => t.token));
    for (const t of seen) {
      if (!refreshTokens.has(t)) expect((await dot.introspect(t)).active, 'an access token is still active at DOT').toBe(false);
    }
    expect(await refreshAtDot(app, last)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    const who = await xtalk(['whoami']);
    expect(who.code, show(who)).toBe(4);
    expect(who.stdout).toBe('');
  });

  if (alg === 'RS256') {
    it('a second login remembers the scope that worked: one sign-in, no offline_access, and the session renews', async () => {
      needLogin();
      const from = (await dot.authorizations()).length;
      const r = await xtalk(['login', '--timeout', '60'], { XTALK_BROWSER: dotBrowserCommand(dot.user) });
      expect(r.code, show(r)).toBe(0);
      expect((await dot.authorizations()).slice(from).map((a) => a.scope)).toEqual(['openid profile email']);
      const grantsFrom = (await dot.grants()).length;
      const refreshed = await xtalk(['refresh']);
      expect(refreshed.code, show(refreshed)).toBe(0);
      expect(await refreshGrantsSince(grantsFrom)).toEqual({ ok: 1, failed: [] });
      const out = await xtalk(['logout']);
      expect(out.code, show(out)).toBe(0);
    }, 120_000);
  }

  if (alg === 'HS256') {
    it('without XTALK_ID_TOKEN_SIGNING_ALG the HS256 ID token is refused and the hint names the setting', async () => {
      const unset = {
        ...env({ XTALK_BROWSER: dotBrowserCommand(dot.user) }),
        XTALK_HOME: join(base, 'HS256-unset'),
        XTALK_ID_TOKEN_SIGNING_ALG: undefined,
      };
      const r = await runCli(['login', '--timeout', '60'], { env: unset, timeoutMs: 90_000 });
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toContain('XTALK_ID_TOKEN_SIGNING_ALG');
      expect(r.stderr).not.toContain('Logged in');
      const who = await runCli(['whoami'], { env: unset });
      expect(who.code, show(who)).toBe(4);
    }, 120_000);
  }
}

if (!skip && unavailable) {
  it('Django OAuth Toolkit 1.7 can run (required under CI=true)', () => {
    throw new Error(unavailable);
  });
}

describe.runIf(run)('xtalk against Django OAuth Toolkit 1.7 (built CLI, headless Chromium)', () => {
  describe.sequential('RS256 application, DOT as shipped', () => interopRun('RS256', {}));
  describe.sequential('HS256 application, XTALK_ID_TOKEN_SIGNING_ALG=HS256', () =>
    interopRun('HS256', { XTALK_ID_TOKEN_SIGNING_ALG: 'HS256' }));

  it('doctor against DOT as shipped: discovery through the 301, revocation only from XTALK_REVOCATION_ENDPOINT', async () => {
    const app = dot.applications.RS256;
    const env = {
      XTALK_HOME: join(base, 'doctor-home'),
      XTALK_ISSUER: dot.issuer,
      XTALK_CLIENT_ID: app.clientId,
      XTALK_CLIENT_SECRET: app.clientSecret,
      XTALK_PORT: String(dot.callbackPort),
      XTALK_CREDENTIAL_STORE: 'file',
    };
    type Check = { name: string; status: string; detail: string; fix?: string };
    const doctor = async (extra: Record<string, string> = {}) => {
      const r = await runCli(['doctor', '--json'], { env: { ...env, ...extra } });
      expect(r.stdout, show(r)).toMatch(/^\{/);
      const checks = (JSON.parse(r.stdout) as { checks: Check[] }).checks;
      return (name: string) => checks.find((c) => c.name === name) ?? expect.fail(`no ${name} check:\n${r.stdout}`);
    };
    const bare = await doctor();
    expect(bare('discovery')).toMatchObject({ status: 'ok' });
    expect(bare('discovery').detail).toContain(dot.discoveryUrl);
    expect(bare('discovery').detail).toContain('301');
    expect(bare('revocation').status).toBe('warn');
    expect(bare('revocation').fix).toContain('XTALK_REVOCATION_ENDPOINT');
    const configured = await doctor({ XTALK_REVOCATION_ENDPOINT: dot.revocationEndpoint });
    expect(configured('revocation')).toMatchObject({ status: 'ok' });
    expect(configured('revocation').detail).toContain(dot.revocationEndpoint);
  });

  it('an X-Talk .env naming DOT’s discovery URL (trailing slash): login, refresh, logout', async () => {
    const app = dot.applications.RS256;
    const cwd = join(base, 'xtalk-env');
    mkdirSync(cwd);
    writeFileSync(
      join(cwd, '.env'),
      [
        `OIDC_DISCOVERY_ENDPOINT=${dot.discoveryUrl}`,
        `OAUTH2_CLIENT_ID=${app.clientId}`,
        `OAUTH2_CLIENT_SECRET=${app.clientSecret}`,
        `OAUTH2_REVOCATION_ENDPOINT=${dot.revocationEndpoint}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const env = { XTALK_HOME: join(base, 'xtalk-env-home'), XTALK_PORT: String(dot.callbackPort), XTALK_CREDENTIAL_STORE: 'file' };
    const login = await runCli(['login', '--timeout', '60'], {
      cwd,
      env: { ...env, XTALK_BROWSER: dotBrowserCommand(dot.user) },
      timeoutMs: 90_000,
    });
    expect(login.code, show(login)).toBe(0);
    const who = await runCli(['whoami', '--json'], { cwd, env });
    expect(who.code, show(who)).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ issuer: dot.issuer, sub: dot.user.sub });
    const from = (await dot.grants()).length;
    const refreshed = await runCli(['refresh'], { cwd, env });
    expect(refreshed.code, show(refreshed)).toBe(0);
    expect(await refreshGrantsSince(from)).toEqual({ ok: 1, failed: [] });
    const out = await runCli(['logout'], { cwd, env });
    expect(out.code, show(out)).toBe(0);
    const live = (await dot.tokens()).refresh.filter((t) => t.client_id === app.clientId && !t.revoked);
    expect(live, 'refresh tokens still live at DOT after logout').toEqual([]);
  }, 180_000);
});
