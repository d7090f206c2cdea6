import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getFreshToken, type FreshTokenDeps, type RefreshLimits } from '../../src/auth/refresh/fresh-token.js';
import { openRun } from '../../src/auth/run.js';
import { run } from '../../src/cli/run.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { CancelledError, NetworkError, ProviderError, StoreError, XtalkError } from '../../src/errors.js';
import { ProviderClient } from '../../src/oidc/client.js';
import { createUi } from '../../src/output/ui.js';
import { openStore, type AccountStore } from '../../src/store/index.js';
import { reservePath } from '../../src/store/db/room.js';
import { createTestContext, providerTransport, type TestContext } from '../fakes/context.js';
import { waitFor } from '../helpers/wait-for.js';
import { fillDisk, mountTinyDisk } from '../helpers/tiny-disk.js';
import { signInWithHttp } from '../provider/http-browser.js';
import Database from 'better-sqlite3';
import { startTestProvider, type KoaContext, type KoaMiddleware, type TestProvider } from '../provider/provider.js';

/** How the provider misbehaves for the next requests; reset after every test. */
const misbehave = {
  /** ms the token endpoint sits on each request before answering it. */
  tokenDelayMs: 0,
  /** The keys endpoint answers 503, or never answers. */
  jwks: 'ok' as 'ok' | '503' | 'hang',
  /** The token endpoint's answer body follows its headers this much later. */
  bodyDelayMs: 0,
  /** Runs as the next token request arrives, before the provider answers it. */
  onToken: undefined as (() => void) | undefined,
  /** Answers the next token request instead of the provider. */
  nextToken: undefined as ((ctx: KoaContext & { set(name: string, value: string): void }) => void) | undefined,
};
/** POSTs that reached the token endpoint: after a login, each one is a refresh grant sent. */
let tokenPosts = 0;

const faults: KoaMiddleware = async (ctx, next) => {
  if (ctx.path === '/jwks' && misbehave.jwks !== 'ok') {
    if (misbehave.jwks === 'hang') return new Promise(() => {});
    ctx.status = 503;
    ctx.body = 'keys are down';
    return;
  }
  if (ctx.path !== '/token' || ctx.method !== 'POST') return next();
  tokenPosts++;
  misbehave.onToken?.();
  misbehave.onToken = undefined;
  const answer = misbehave.nextToken;
  if (answer) {
    misbehave.nextToken = undefined;
    answer(ctx as KoaContext & { set(name: string, value: string): void });
    return;
  }
  if (misbehave.tokenDelayMs > 0) {
    await new Promise((r) => setTimeout(r, misbehave.tokenDelayMs));
    // The client gave up meanwhile: a real provider's answer would be lost too; rotate nothing.
    if ((ctx as unknown as { req: { socket: { destroyed: boolean } } }).req.socket.destroyed) return;
  }
  await next();
  if (misbehave.bodyDelayMs > 0) {
    // The headers now, the body later: written by hand, Koa would send both together.
    const text = JSON.stringify(ctx.body);
    const raw = ctx as unknown as { respond: boolean; res: import('node:http').ServerResponse };
    raw.respond = false;
    raw.res.writeHead(ctx.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    raw.res.flushHeaders();
    setTimeout(() => raw.res.end(text), misbehave.bodyDelayMs);
  }
};

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider({ middleware: [faults] });
});
afterAll(async () => {
  await provider?.stop();
});
afterEach(() => {
  Object.assign(misbehave, { bodyDelayMs: 0, tokenDelayMs: 0, jwks: 'ok', nextToken: undefined, onToken: undefined });
});

interface Session {
  ctx: TestContext;
  store: AccountStore;
  ui: FreshTokenDeps['ui'];
  accountId: number;
  warnings: string[];
}
const opened: Session[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.store.close();
});

/** Signs `login` in (through the real provider) into `home` and opens its store as a refresh would. */
async function signedIn(login: string, opts: { home?: string; env?: Record<string, string> } = {}): Promise<Session> {
  const env = {
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
    ...opts.env,
  };
  const ctx = createTestContext({ env, home: opts.home, browser: (url) => signInWithHttp(url, { login }) });
  expect(await run(['login'], ctx), ctx.stderr.text).toBe(0);
  await Promise.all(ctx.browserRuns);
  const config = resolveConfig({ flags: {}, env: ctx.env, cwd: ctx.cwd, platform: ctx.platform });
  const store = ctx.openStore({ paths: config.paths, mode: config.credentialStore, keyCacheSeconds: 0, warn: () => {} }) as AccountStore;
  const warnings: string[] = [];
  const ui = { ...createUi(ctx.io, ctx.env), warn: (line: string) => warnings.push(line) };
  const session = { ctx, store, ui, accountId: store.currentAccount()!.id, warnings };
  opened.push(session);
  return session;
}

/** A session signed in with its XTALK_HOME on a 2 MiB tmpfs (`mount`), for `fn`; unmounted after. */
async function onTinyDisk(login: string, fn: (s: Session, mount: string) => Promise<void>): Promise<void> {
  const disk = mountTinyDisk('2m');
  try {
    const home = join(disk.dir, 'home');
    mkdirSync(home);
    await fn(await signedIn(login, { home }), disk.dir);
  } finally {
    for (const s of opened.splice(0)) s.store.close();
    disk.unmount();
  }
}

const account = (s: Session) => s.store.getAccount(s.accountId)!;
/** A refresh's part of a run on `ctx` (default the session's) over the session's open store, with shorter limits. */
const runOf = (s: Session, { ctx = s.ctx, ...limits }: { ctx?: TestContext } & RefreshLimits = {}): FreshTokenDeps => ({
  ...openRun(ctx, { ui: s.ui, warn: () => {} }),
  store: () => s.store,
  ...limits,
});
const refresh = (s: Session, over: Parameters<typeof runOf>[1] = {}) => getFreshToken(runOf(s, over), { account: account(s), force: true });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as XtalkError,
  );

describe('before the grant: what can fail locally or be fetched does so first', () => {
  it('discovery slower than the preparation bound: no grant is sent, it tries once more, nothing is recorded, the next call refreshes', async () => {
    const s = await signedIn('unhurried');
    const slow = (async (input: string | URL | Request, init?: RequestInit) => {
      await new Promise((r) => setTimeout(r, 1_500));
      return providerTransport(input, init);
    }) as typeof fetch;
    const ctx = {
      ...s.ctx,
      discover: (settings: Parameters<TestContext['discover']>[0]) => ProviderClient.discover({ ...settings, fetch: slow }),
    };
    const before = await s.store.latestAccessToken(s.accountId);
    const posts = tokenPosts;
    // Its own time ran out before anything was sent: it tries once more (like a waiter), then reports.
    const err = await failure(refresh(s, { ctx, prepareSeconds: 1 }));
    expect(err).toBeInstanceOf(NetworkError);
    expect(err!.facts.timedOut).toBe(true);
    expect(s.ctx.sleeps).toHaveLength(1);
    expect(tokenPosts).toBe(posts);
    expect(await s.store.latestAccessToken(s.accountId)).toEqual(before);
    expect(s.store.refreshFailureSince(s.accountId, 0)).toBeUndefined();
    const token = await refresh(s);
    expect(token.accessToken).not.toBe(before!.accessToken);
  }, 30_000);

  it('a disk filled before the refresh: no grant is sent, the session is unchanged, and it refreshes once there is room', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('mounting a tmpfs needs root (CI runs as root)');
    await onTinyDisk('crowded', async (s, mount) => {
      const before = await s.store.latestAccessToken(s.accountId);
      const filler = fillDisk(mount);
      const posts = tokenPosts;
      const err = await failure(refresh(s));
      expect(err).toBeInstanceOf(StoreError);
      expect(err!.facts.reason).toBe('full');
      // Refused when the write connection opens (its -shm cannot grow) or by the room check, both before the grant.
      expect(err!.message).toMatch(
        /^(the disk holding .* is full \(SQLITE_IOERR\w*\)|no space left to store a refreshed session next to .*; the refresh was not attempted)$/,
      );
      expect(err!.hint).toMatch(/^Free some disk space \(or raise your disk quota\) and try again; /);
      expect(tokenPosts).toBe(posts);
      expect(await s.store.latestAccessToken(s.accountId)).toEqual(before);
      rmSync(filler);
      const token = await refresh(s);
      expect(token.accessToken).not.toBe(before!.accessToken);
      expect(tokenPosts).toBe(posts + 1);
    });
  }, 30_000);

  it('a disk that fills between the check and the commit: the reserve makes room and the answer is stored', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('mounting a tmpfs needs root (CI runs as root)');
    await onTinyDisk('squeezed', async (s, mount) => {
      const before = await s.store.latestAccessToken(s.accountId);
      // After xtalk checked for room, before the answer arrives.
      misbehave.onToken = () => void fillDisk(mount);
      const token = await refresh(s);
      expect(token.accessToken).not.toBe(before!.accessToken);
      expect(existsSync(reservePath(s.store.dbPath))).toBe(false);
      // What was committed is what the provider issued last: the session renews from it.
      const reopened = openStore({ dbPath: s.store.dbPath, keyFilePath: join(mount, 'home', 'xtalk.key'), mode: 'file', warn: () => {} });
      try {
        expect((await reopened.latestAccessToken(s.accountId))!.accessToken).toBe(token.accessToken);
      } finally {
        reopened.close();
      }
    });
  }, 30_000);
});

describe('once sent, the answer is awaited and stored', () => {
  it('an answer slower than the preparation bound and the per-request timeout is awaited and stored', async () => {
    // Bounds with room for discovery on a loaded machine; the answer comes later than both.
    const s = await signedIn('tardy', { env: { XTALK_HTTP_TIMEOUT: '4' } });
    const before = await s.store.latestAccessToken(s.accountId);
    misbehave.tokenDelayMs = 6_000;
    const posts = tokenPosts;
    const token = await refresh(s, { prepareSeconds: 5 });
    misbehave.tokenDelayMs = 0;
    expect(tokenPosts).toBe(posts + 1);
    expect(token.accessToken).not.toBe(before!.accessToken);
    // The rotated refresh token was stored: the provider accepts it.
    const next = await refresh(s);
    expect(next.accessToken).not.toBe(token.accessToken);
    expect(provider.grantErrors).toEqual([]);
  }, 30_000);

  it('an answer later than its own bound: NETWORK_ERROR saying the request left, and that a new login may be needed', async () => {
    const s = await signedIn('forsaken');
    misbehave.tokenDelayMs = 3_000;
    const err = await failure(refresh(s, { answerSeconds: 1 }));
    expect(err).toBeInstanceOf(NetworkError);
    expect(err!.facts).toMatchObject({ timedOut: true, grantSent: true });
    expect(err!.hint).toMatch(/^The refresh request reached the provider but its answer did not reach xtalk\. .*`xtalk login`/);
    // A deadline of this process is not the provider's answer: nothing is recorded for the next caller.
    expect(s.store.refreshFailureSince(s.accountId, 0)).toBeUndefined();
  }, 30_000);

  it.each(['503', 'hang'] as const)(
    'the keys endpoint %s during the refresh: the tokens are stored unverified, the identity is unchanged, the next refresh verifies',
    async (mode) => {
      // A hanging keys endpoint costs the per-request timeout; the bound before the grant leaves
      // discovery room on a loaded machine besides it.
      const s = await signedIn(`keyless-${mode}`, { env: { XTALK_HTTP_TIMEOUT: '2' } });
      const before = await s.store.latestAccessToken(s.accountId);
      const claims = account(s).claims;
      misbehave.jwks = mode;
      const token = await refresh(s, { prepareSeconds: 8 });
      expect(token.accessToken).not.toBe(before!.accessToken);
      expect(s.warnings).toEqual([
        "The provider's signing keys could not be fetched, so the refreshed ID token was not verified; the new tokens were stored and the account's details left as they were.",
      ]);
      expect(account(s).claims).toEqual(claims);
      misbehave.jwks = 'ok';
      const next = await refresh(s);
      expect(next.accessToken).not.toBe(token.accessToken);
      expect(s.warnings).toHaveLength(1);
    },
    30_000,
  );

  it('a 503 with Retry-After is retried once and the refresh goes through', async () => {
    const s = await signedIn('patient-retry');
    const before = await s.store.latestAccessToken(s.accountId);
    misbehave.nextToken = (ctx) => {
      ctx.status = 503;
      ctx.set('Retry-After', '0');
      ctx.type = 'application/json';
      ctx.body = { error: 'temporarily_unavailable' };
    };
    const posts = tokenPosts;
    const token = await refresh(s);
    expect(tokenPosts).toBe(posts + 2);
    expect(token.accessToken).not.toBe(before!.accessToken);
  }, 30_000);

  it('an HTML page answered with 200 is "not an OAuth answer", not "HTTP 200 OK"', async () => {
    const s = await signedIn('portal');
    misbehave.nextToken = (ctx) => {
      ctx.status = 200;
      ctx.type = 'text/html';
      ctx.body = '<html><body>Please sign in to the Wi-Fi</body></html>';
    };
    const err = await failure(refresh(s));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err!.code).toBe('NOT_OAUTH_ANSWER');
    expect(err!.message).toBe("The provider's answer to the token refresh is not an OAuth answer (HTTP 200, text/html).");
    expect(err!.exitCode).toBe(1);
    // The provider never saw it: the session still refreshes.
    expect((await refresh(s)).accessToken).toBeTruthy();
  }, 30_000);
});

describe("waiting for another process's refresh", () => {
  /** Holds the database write lock the way another xtalk process refreshing would. */
  function otherProcessRefreshing(s: Session): () => void {
    const db = new Database(s.store.dbPath, { fileMustExist: true });
    db.exec('BEGIN IMMEDIATE');
    return () => {
      db.exec('ROLLBACK');
      db.close();
    };
  }

  it('past its wait bound, a caller whose token is still valid gets that token instead of an error; no grant', async () => {
    const s = await signedIn('bystander');
    const stored = (await s.store.latestAccessToken(s.accountId))!;
    const release = otherProcessRefreshing(s);
    try {
      const posts = tokenPosts;
      // A margin longer than the token's life: not fresh enough, but still valid.
      const token = await getFreshToken(runOf(s, { waitSeconds: 1 }), { account: account(s), minTtlSeconds: 100_000 });
      expect(token).toEqual(stored);
      expect(tokenPosts).toBe(posts);
      expect(s.ctx.sleeps.length).toBeGreaterThan(1);
    } finally {
      release();
    }
  }, 30_000);

  it('past its wait bound with an expired token: REFRESH_WAIT_TIMEOUT, never "database is locked"', async () => {
    const s = await signedIn('latecomer');
    const release = otherProcessRefreshing(s);
    try {
      const later = { ...s.ctx, now: () => Date.now() + 86_400_000 };
      const err = await failure(getFreshToken(runOf(s, { ctx: later, waitSeconds: 1 }), { account: account(s) }));
      expect(err).toBeInstanceOf(NetworkError);
      expect(err!.code).toBe('REFRESH_WAIT_TIMEOUT');
      expect(err!.message).toMatch(/^Another xtalk process has been refreshing this session for \d+ s without a result\.$/);
    } finally {
      release();
    }
  }, 30_000);

  it('Ctrl-C while waiting ends the wait at once (CANCELLED); nothing was sent', async () => {
    const s = await signedIn('impatient');
    const release = otherProcessRefreshing(s);
    try {
      const posts = tokenPosts;
      const stop = new AbortController();
      stop.abort();
      const err = await failure(getFreshToken(runOf(s, { ctx: { ...s.ctx, signal: stop.signal } }), { account: account(s), force: true }));
      expect(err).toBeInstanceOf(CancelledError);
      expect(tokenPosts).toBe(posts);
    } finally {
      release();
    }
  }, 30_000);

  it('when the holder is done, the waiter takes the lock and finds its result', async () => {
    const s = await signedIn('successor');
    const before = (await s.store.latestAccessToken(s.accountId))!;
    const release = otherProcessRefreshing(s);
    const waiting = refresh(s);
    // Released once the waiter has looked at least twice.
    await waitFor(() => s.ctx.sleeps.length >= 2);
    release();
    const token = await waiting;
    expect(token.accessToken).not.toBe(before.accessToken);
  }, 30_000);
});

describe('a process stopped while its answer arrives', () => {
  it('resumed after its answer bound, it stores the answer that arrived meanwhile instead of giving up on it', async () => {
    const s = await signedIn('sleeper');
    const before = await s.store.latestAccessToken(s.accountId);
    // The answer's headers are in; then the process does not run for longer than its bound (as after
    // SIGSTOP / SIGCONT or under heavy load) while the body arrives, so the bound's timer is due
    // before the body is read when it runs again.
    misbehave.bodyDelayMs = 200;
    const stalling = (async (input: string | URL | Request, init?: RequestInit) => {
      const res = await providerTransport(input, init);
      if (String(input).endsWith('/token')) {
        const until = Date.now() + 1_500;
        while (Date.now() < until);
      }
      return res;
    }) as typeof fetch;
    const ctx = {
      ...s.ctx,
      discover: (settings: Parameters<TestContext['discover']>[0]) => ProviderClient.discover({ ...settings, fetch: stalling }),
    };
    const token = await refresh(s, { ctx, answerSeconds: 1 });
    expect(token.accessToken).not.toBe(before!.accessToken);
    expect((await refresh(s)).accessToken).not.toBe(token.accessToken);
  }, 30_000);
});
