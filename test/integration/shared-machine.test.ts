/**
 * Shared machines, against the local provider with a scripted browser that keeps its cookies:
 * `logout --browser` (RP-Initiated Logout) ends the provider session, a plain logout does not,
 * `login --fresh` asks for credentials while that session lives, a different person signing in is
 * announced — and, against the misbehaving provider, an `auth_time` older than the request is refused.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext, type TestContext } from '../fakes/context.js';
import { waitFor } from '../helpers/wait-for.js';
import { CookieJar, followStartLink, signInWithHttp, signOutWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { followAuthorization, startRogueProvider, type RogueProvider } from '../provider/rogue-provider.js';
import { rawDb } from '../helpers/raw-db.js';

let provider: TestProvider;
let rogue: RogueProvider;
beforeAll(async () => {
  provider = await startTestProvider();
  rogue = await startRogueProvider();
});
afterAll(async () => {
  await provider?.stop();
  await rogue?.stop();
});
beforeEach(() => rogue.reset());

const env = (extra: Record<string, string> = {}) => ({
  XTALK_ISSUER: provider.issuer,
  XTALK_CLIENT_ID: provider.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  ...extra,
});

/** One machine: an XTALK_HOME and a browser whose provider cookies survive between commands. */
function machine() {
  const jar = new CookieJar();
  let home: string | undefined;
  /** Where the last logout's one-time link led: the provider's end-session URL. */
  const endSessions: URL[] = [];
  const signOut = async (startUrl: string, confirm: boolean | undefined) => {
    const res = await fetch(startUrl, { redirect: 'manual' });
    await res.arrayBuffer();
    const target = new URL(res.headers.get('location') ?? 'about:blank');
    endSessions.push(target);
    return signOutWithHttp(target.href, { jar, confirm });
  };
  const xtalk = async (args: string[], opts: { login?: string; seen?: string[]; env?: Record<string, string>; confirm?: boolean } = {}) => {
    const authorizations: string[] = [];
    const ctx = createTestContext({
      env: env(opts.env),
      ...(home ? { home } : {}),
      browser: async (url) => {
        if (args[0] === 'logout') return signOut(url, opts.confirm);
        const authorization = await followStartLink(url);
        authorizations.push(authorization);
        return signInWithHttp(authorization, { login: opts.login ?? 'nobody', jar, seen: opts.seen });
      },
    });
    home = ctx.home;
    const code = await run(args, ctx);
    await Promise.all(ctx.browserRuns);
    return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text, opened: ctx.opened, authorizations, ctx };
  };
  return { xtalk, jar, endSessions, home: () => home! };
}

async function storedIdToken(home: string): Promise<{ token: string | undefined; column: unknown }> {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  try {
    const account = store.listAccounts()[0]!;
    const column = rawDb(store.dbPath).value('SELECT id_token FROM user WHERE id = ?', account.id);
    return { token: store.hasSession(account.id) ? await store.idToken(account.id) : undefined, column };
  } finally {
    store.close();
  }
}

describe('logout --browser (RP-Initiated Logout)', () => {
  it('ends the provider session: the next login asks for credentials and can be someone else', async () => {
    const m = machine();
    const first: string[] = [];
    expect((await m.xtalk(['login'], { login: 'alice', seen: first })).code).toBe(0);
    expect(first).toEqual(['login-form']);
    const { token, column } = await storedIdToken(m.home());
    expect(token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    // Encrypted like every token column.
    expect(String(column)).toMatch(/^v1\./);
    expect(String(column)).not.toContain(token!.slice(0, 20));

    const out = await m.xtalk(['logout', '--browser']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/✓ Logged out alice from .*; \d+ tokens? revoked/);
    expect(out.stderr).toContain(`✓ Signed out of ${provider.issuer} in the browser too`);
    // The browser and the terminal get a one-time local link; only it leads to the ID token.
    expect(out.opened).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/start\/[\w-]{43}$/)]);
    expect(out.stderr).toContain(out.opened[0]);
    expect(out.stderr).not.toContain(token);
    const endSession = m.endSessions[0]!;
    expect(endSession.origin + endSession.pathname).toBe(`${provider.issuer}/session/end`);
    expect(endSession.searchParams.get('id_token_hint')).toBe(token);
    expect(endSession.searchParams.get('client_id')).toBe(provider.confidentialClient.clientId);
    expect(endSession.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/logout-callback$/);
    // Logout took the profile, and with it the ID token column.
    expect(rawDb(join(m.home(), 'xtalk.db')).value('SELECT count(*) FROM user')).toBe(0);

    const second: string[] = [];
    const bob = await m.xtalk(['login'], { login: 'bob', seen: second });
    expect(bob.code).toBe(0);
    expect(second).toEqual(['login-form']);
    expect(bob.stderr).toContain('as bob (bob@example.test)');
  });

  it('without --browser the provider session persists: the next plain login is the previous person again', async () => {
    const m = machine();
    expect((await m.xtalk(['login'], { login: 'carol' })).code).toBe(0);
    expect((await m.xtalk(['logout'])).code).toBe(0);
    const seen: string[] = [];
    const again = await m.xtalk(['login'], { login: 'dave', seen });
    expect(again.code).toBe(0);
    expect(seen).toEqual([]);
    expect(again.stderr).toContain('as carol');
  });

  it('logout_browser=always makes it the default; --print-sign-out-url prints the URL and waits for the provider', async () => {
    const m = machine();
    expect((await m.xtalk(['login'], { login: 'erin' })).code).toBe(0);
    const byConfig = await m.xtalk(['logout'], { env: { XTALK_LOGOUT_BROWSER: 'always' } });
    expect(byConfig.code, byConfig.stderr).toBe(0);
    expect(byConfig.opened).toHaveLength(1);
    expect(byConfig.stderr).toContain('in the browser too');

    expect((await m.xtalk(['login'], { login: 'erin' })).code).toBe(0);
    const ctx: TestContext = createTestContext({ env: env(), home: m.home() });
    const done = run(['logout', '--print-sign-out-url'], ctx);
    const url = (await waitFor(() => /^(http:\/\/127\.0\.0\.1:\d+\/start\/\S+)$/m.exec(ctx.stderr.text)?.[1]))!;
    expect(ctx.opened).toEqual([]);
    await signOutWithHttp(url, { jar: m.jar });
    expect(await done).toBe(0);
    expect(ctx.stderr.text).toContain('in the browser too');
    const seen: string[] = [];
    expect((await m.xtalk(['login'], { login: 'frank', seen })).code).toBe(0);
    expect(seen).toEqual(['login-form']);
  });

  it('gives up (exit 1) when the provider never sends the browser back; the local logout stands', async () => {
    const m = machine();
    expect((await m.xtalk(['login'], { login: 'jack' })).code).toBe(0);
    const ctx = createTestContext({ env: env({ XTALK_TIMEOUT: '1' }), home: m.home(), browser: async () => undefined });
    expect(await run(['logout', '--browser'], ctx)).toBe(1);
    expect(ctx.stderr.text).toMatch(/✓ Logged out jack/);
    expect(ctx.stderr.text).toMatch(/Timed out after 1 s waiting for the sign-out at the provider to finish\./);
    expect(ctx.stderr.text).toMatch(/hint: The tokens are revoked; sign out on the provider's web page/);
    const status = createTestContext({ env: env(), home: m.home() });
    expect(await run(['whoami'], status)).toBe(4);
  });

  it('a provider without end_session_endpoint: says so and exits 0 after the local logout', async () => {
    const ctx = createTestContext({ env: rogue.env, browser: (url) => followAuthorization(url) });
    expect(await run(['login'], ctx)).toBe(0);
    await Promise.all(ctx.browserRuns);
    const out = createTestContext({ env: rogue.env, home: ctx.home });
    expect(await run(['logout', '--browser'], out)).toBe(0);
    expect(out.stderr.text).toMatch(/✓ Logged out rosa/);
    expect(out.stderr.text).toMatch(/publishes no end_session_endpoint, so xtalk cannot end its browser session; the tokens are revoked/);
    expect(out.opened).toEqual([]);
  });
});

describe('login --fresh and --prompt', () => {
  it('--fresh shows the login form although the provider session is alive, and names a different person', async () => {
    const m = machine();
    expect((await m.xtalk(['login'], { login: 'gina' })).code).toBe(0);
    const seen: string[] = [];
    const fresh = await m.xtalk(['login', '--fresh'], { login: 'hank', seen });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(seen).toEqual(['login-form']);
    const url = new URL(fresh.authorizations[0]!);
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.get('max_age')).toBe('0');
    expect(fresh.stderr).toContain('as hank (hank@example.test)');
    expect(fresh.stderr).toMatch(
      /! This is a different account than the one that was current: signed in as hank \(hank@example\.test\), not as gina \(gina@example\.test\)\. gina stays stored; `xtalk switch gina@example\.test` goes back to it\./,
    );

    const back = await m.xtalk(['switch', 'gina@example.test']);
    expect(back.code).toBe(0);
    const who = await m.xtalk(['whoami', '--json']);
    expect(JSON.parse(who.stdout)).toMatchObject({ sub: 'gina', current: true });
  });

  it('--prompt passes the value on; the same person signing in again is not announced', async () => {
    const m = machine();
    expect((await m.xtalk(['login'], { login: 'ivy' })).code).toBe(0);
    const again = await m.xtalk(['login', '--prompt', 'login'], { login: 'ivy' });
    expect(again.code).toBe(0);
    expect(new URL(again.authorizations[0]!).searchParams.get('prompt')).toBe('login');
    expect(new URL(again.authorizations[0]!).searchParams.get('max_age')).toBeNull();
    expect(again.stderr).not.toMatch(/different account/);
    expect((await m.xtalk(['login', '--prompt', 'nonsense'])).code).toBe(2);
    expect((await m.xtalk(['login', '--fresh', '--device'])).code).toBe(2);
  });

  it('refuses an ID token whose auth_time is older than the request, and one without auth_time', async () => {
    const cases: Array<[string, (c: Record<string, unknown>) => Record<string, unknown>, RegExp]> = [
      [
        'old',
        (c) => ({ ...c, auth_time: Math.floor(Date.now() / 1000) - 600 }),
        /reused a sign-in from .* older than this login \(auth_time check\); nothing was stored/,
      ],
      ['missing', ({ auth_time: _drop, ...c }) => c, /has no auth_time/],
    ];
    for (const [name, claims, message] of cases) {
      rogue.behaviour.idTokenClaims = (c) => claims(c);
      const ctx = createTestContext({ env: rogue.env, browser: (url) => followAuthorization(url) });
      expect(await run(['login', '--fresh'], ctx), name).toBe(1);
      await Promise.allSettled(ctx.browserRuns);
      expect(ctx.stderr.text, name).toMatch(message);
      const status = createTestContext({ env: rogue.env, home: ctx.home });
      expect(await run(['status', '--json'], status)).toBe(0);
      expect(JSON.parse(status.stdout.text || '[]'), name).toEqual([]);
    }
    rogue.behaviour.idTokenClaims = (c) => ({ ...c, auth_time: Math.floor(Date.now() / 1000) });
    const ok = createTestContext({ env: rogue.env, browser: (url) => followAuthorization(url) });
    expect(await run(['login', '--fresh'], ok)).toBe(0);
    // Without --fresh an old auth_time is fine: the provider may reuse its session.
    rogue.behaviour.idTokenClaims = (c) => ({ ...c, auth_time: Math.floor(Date.now() / 1000) - 600 });
    const plain = createTestContext({ env: rogue.env, browser: (url) => followAuthorization(url) });
    expect(await run(['login'], plain)).toBe(0);
  });
});
