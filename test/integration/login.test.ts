import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';
import { followStartLink, signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { waitFor } from '../helpers/wait-for.js';

let provider: TestProvider;

beforeAll(async () => {
  provider = await startTestProvider({ users: { 'alice-2': { preferred_username: 'alice', email: 'alice2@example.test' } } });
});
afterAll(async () => {
  await provider?.stop();
});

function confidentialEnv() {
  return {
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  };
}

/** A login whose "browser" signs in over HTTP as `login`. */
async function login(env: Record<string, string | undefined>, loginName: string, extraArgs: string[] = [], home?: string) {
  const callbacks: URL[] = [];
  const ctx = createTestContext({
    env,
    home,
    browser: async (url) => callbacks.push(await signInWithHttp(url, { login: loginName })),
  });
  const code = await run(['login', ...extraArgs], ctx);
  await Promise.all(ctx.browserRuns);
  return { ctx, code, callbacks };
}

function readDb(home: string) {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  return store;
}

describe('xtalk login against the local provider', () => {
  it('signs in with the confidential client, validates and stores the session', async () => {
    const grantsBefore = provider.grants.length;
    const { ctx, code, callbacks } = await login(confidentialEnv(), 'alice', ['--json']);
    expect(ctx.stderr.text).not.toContain('✗');
    expect(code).toBe(0);
    expect(ctx.opened).toHaveLength(1);
    // The browser got a one-time local link; the terminal shows the authorization URL itself.
    expect(ctx.opened[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/start\/[\w-]{43}$/);
    const authUrl = new URL(/Open this URL to sign in:\n(\S+)/.exec(ctx.stderr.text)![1]!);
    expect(authUrl.href.startsWith(`${provider.issuer}/`)).toBe(true);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('state')).toBeTruthy();
    expect(authUrl.searchParams.get('nonce')).toBeTruthy();
    expect(authUrl.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(callbacks[0]!.searchParams.get('iss')).toBe(provider.issuer);
    expect(provider.grants.length).toBe(grantsBefore + 1);

    // stdout carries only the account object; the human lines are on stderr
    const account = JSON.parse(ctx.stdout.text);
    expect(account).toMatchObject({
      issuer: provider.issuer,
      sub: 'alice',
      username: 'alice',
      email: 'alice@example.test',
      current: true,
      credential_store: 'file',
    });
    expect(account.claims.group).toBe('developers');
    // one-time validation fields are not kept about a person
    expect(account.claims.nonce).toBeUndefined();
    expect(account.claims.at_hash).toBeUndefined();
    expect(Date.parse(account.access_token_expires_at)).toBeGreaterThan(Date.now());
    expect(ctx.stderr.text).toContain(`Logged in to ${provider.issuer} as alice (alice@example.test)`);

    const store = readDb(ctx.home);
    const stored = await store.latestAccessToken(store.currentAccount()!.id);
    expect((await provider.introspect(stored!.accessToken)).active).toBe(true);
    const rt = await store.refreshToken(store.currentAccount()!.id);
    expect((await provider.introspect(rt!.refreshToken)).active).toBe(true);
    store.close();

    // no token in plaintext anywhere under XTALK_HOME
    for (const f of readdirSync(ctx.home)) {
      const bytes = readFileSync(join(ctx.home, f)).toString('latin1');
      expect(bytes).not.toContain(stored!.accessToken);
      expect(bytes).not.toContain(rt!.refreshToken);
    }
  });

  it('signs in with the public client (no secret)', async () => {
    const { ctx, code } = await login({ XTALK_ISSUER: provider.issuer, XTALK_CLIENT_ID: provider.publicClient.clientId }, 'bob');
    expect(ctx.stderr.text).toContain('Logged in');
    expect(code).toBe(0);
    expect(ctx.stdout.text).toBe('');
    const who = createTestContext({ home: ctx.home });
    expect(await run(['whoami', '--json'], who)).toBe(0);
    expect(JSON.parse(who.stdout.text)).toMatchObject({ sub: 'bob', username: 'bob', current: true });
  });

  it('keeps two people with one username apart, and one person in one row', async () => {
    const first = await login(confidentialEnv(), 'alice');
    expect(first.code).toBe(0);
    const home = first.ctx.home;
    expect((await login(confidentialEnv(), 'alice-2', [], home)).code).toBe(0);
    expect((await login(confidentialEnv(), 'alice', [], home)).code).toBe(0);
    const store = readDb(home);
    const accounts = store.listAccounts();
    expect(accounts.map((a) => a.sub).sort()).toEqual(['alice', 'alice-2']);
    expect(accounts.every((a) => a.username === 'alice')).toBe(true);
    expect(store.currentAccount()!.sub).toBe('alice');
    store.close();
  });

  it('reports the provider refusing the client secret, and stores nothing', async () => {
    const { ctx, code } = await login({ ...confidentialEnv(), XTALK_CLIENT_SECRET: 'wrong' }, 'carol');
    expect(code).toBe(1);
    expect(ctx.stderr.text).toMatch(/invalid_client/);
    expect(ctx.stderr.text).toContain('hint:');
    expect(ctx.stderr.text).not.toContain('wrong');
    const who = createTestContext({ home: ctx.home });
    expect(await run(['whoami'], who)).toBe(4);
  });

  it('fails with exit 2 and a hint when no issuer is configured', async () => {
    const ctx = createTestContext();
    expect(await run(['login'], ctx)).toBe(2);
    expect(ctx.stderr.text).toContain('XTALK_ISSUER');
    expect(ctx.opened).toHaveLength(0);
  });

  it('does not launch a browser with --no-browser and still completes when the URL is visited', async () => {
    const ctx = createTestContext({ env: confidentialEnv() });
    const done = run(['login', '--no-browser', '--timeout', '20'], ctx);
    const url = await waitFor(() => /Open this URL to sign in:\n(\S+)/.exec(ctx.stderr.text)?.[1]);
    await signInWithHttp(url, { login: 'dave' });
    expect(await done).toBe(0);
    expect(ctx.opened).toHaveLength(0);
  });
});

describe("the provider's signing keys", () => {
  it('are fetched while the user is in the browser, before the code is exchanged, and not again after it', async () => {
    const seen: string[] = [];
    let keysAnswered!: () => void;
    const answered = new Promise<void>((resolve) => (keysAnswered = resolve));
    const own = await startTestProvider({
      middleware: [
        async (koa, next) => {
          await next();
          seen.push(koa.path);
          if (koa.path === '/jwks') keysAnswered();
        },
      ],
    });
    try {
      const ctx = createTestContext({
        env: {
          XTALK_ISSUER: own.issuer,
          XTALK_CLIENT_ID: own.confidentialClient.clientId,
          XTALK_CLIENT_SECRET: own.confidentialClient.clientSecret,
        },
        // The "user" signs in once xtalk has had the keys; without the prefetch this waits for --timeout.
        browser: async (url) => {
          await answered;
          await signInWithHttp(url, { login: 'erin' });
        },
      });
      expect(await run(['login', '--timeout', '30'], ctx)).toBe(0);
      await Promise.all(ctx.browserRuns);
      expect(seen.filter((path) => path === '/jwks')).toHaveLength(1);
      expect(seen.indexOf('/jwks')).toBeLessThan(seen.indexOf('/token'));
      expect(ctx.stderr.text).toContain(`Logged in to ${own.issuer} as erin`);
    } finally {
      await own.stop();
    }
  }, 60_000);
});

describe('the one-time start link a launched browser gets', () => {
  it('holds no state, nonce or PKCE challenge, redirects once to the authorization URL, then is dead', async () => {
    const seen: { status: number; location: string | null }[] = [];
    const ctx = createTestContext({
      env: confidentialEnv(),
      browser: async (url) => {
        const first = await fetch(url, { redirect: 'manual' });
        seen.push({ status: first.status, location: first.headers.get('location') });
        expect(first.headers.get('cache-control')).toBe('no-store');
        expect(first.headers.get('referrer-policy')).toBe('no-referrer');
        return signInWithHttp(first.headers.get('location')!, { login: 'erin' });
      },
    });
    expect(await run(['login'], ctx), ctx.stderr.text).toBe(0);
    await Promise.all(ctx.browserRuns);
    const start = ctx.opened[0]!;
    for (const secret of ['state=', 'nonce=', 'code_challenge', 'redirect_uri', provider.issuer]) expect(start).not.toContain(secret);
    const authUrl = /Open this URL to sign in:\n(\S+)/.exec(ctx.stderr.text)![1]!;
    expect(seen).toEqual([{ status: 302, location: authUrl }]);
    // The listener is gone once the sign-in finished, and the link with it.
    await expect(fetch(start)).rejects.toThrow();
  });

  it('opened a second time (someone else was first), it stops the sign-in and stores nothing', async () => {
    const ctx = createTestContext({
      env: confidentialEnv(),
      browser: async (url) => {
        // Another local user read the link from `ps` and opened it before the browser did.
        const stolen = await fetch(url, { redirect: 'manual' });
        expect(stolen.status).toBe(302);
        const late = await fetch(url, { redirect: 'manual' });
        return { status: late.status, page: await late.text() };
      },
    });
    expect(await run(['login'], ctx)).toBe(1);
    const late = (await Promise.all(ctx.browserRuns))[0] as { status: number; page: string };
    expect(late.status).toBe(410);
    expect(late.page).toContain('already opened');
    expect(ctx.stderr.text).toContain('The one-time sign-in link xtalk gave the browser was opened twice');
    expect(ctx.stderr.text).toContain('hint:');
    expect(await run(['whoami'], createTestContext({ home: ctx.home }))).toBe(4);
  });
});

describe('xtalk login waiting for the browser', () => {
  it('exits 130 on Ctrl-C and closes the listener', async () => {
    const controller = new AbortController();
    const ctx = createTestContext({ env: confidentialEnv(), signal: controller.signal });
    const done = run(['login', '--no-browser'], ctx);
    const url = await waitFor(() => /Open this URL to sign in:\n(\S+)/.exec(ctx.stderr.text)?.[1]);
    const redirect = new URL(new URL(url).searchParams.get('redirect_uri')!);
    controller.abort();
    expect(await done).toBe(130);
    await expect(fetch(redirect)).rejects.toThrow();
    expect(await run(['whoami'], createTestContext({ home: ctx.home }))).toBe(4);
  });

  it('gives up after --timeout with a hint', async () => {
    const ctx = createTestContext({ env: confidentialEnv() });
    expect(await run(['login', '--no-browser', '--timeout', '0.3'], ctx)).toBe(1);
    expect(ctx.stderr.text).toMatch(/Timed out/);
    expect(ctx.stderr.text).toContain('--timeout');
  });

  it('reports a provider that denies access with its reason', async () => {
    const ctx = createTestContext({
      env: confidentialEnv(),
      browser: async (url) => {
        const u = new URL(await followStartLink(url));
        const cb = new URL(u.searchParams.get('redirect_uri')!);
        cb.search = new URLSearchParams({
          error: 'access_denied',
          error_description: 'user said no',
          state: u.searchParams.get('state')!,
          iss: provider.issuer,
        }).toString();
        const res = await fetch(cb);
        return res.text();
      },
    });
    expect(await run(['login'], ctx)).toBe(1);
    const page = (await Promise.all(ctx.browserRuns))[0] as string;
    expect(ctx.stderr.text).toContain('access_denied: user said no');
    expect(page).toContain('user said no');
  });
});
