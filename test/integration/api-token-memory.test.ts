import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createFetch, getAccessToken, getToken } from '../../src/index.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

// The Node API keeps a valid token in memory between calls (src/api/session-token.ts). Each case
// takes a token, changes what it was read from the way a user or another program does, and checks
// that the very next call sees the change.

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider({ accessTokenTtl: 600, rotateRefreshToken: true });
});
afterAll(async () => {
  await provider?.stop();
});

function envFor(home: string): Record<string, string> {
  return {
    XTALK_HOME: home,
    XTALK_CREDENTIAL_STORE: 'file',
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  };
}

/** Runs the CLI in this process, on its own store connection (as another process would). */
async function xtalk(args: string[], env: Record<string, string>, login?: string): Promise<string> {
  const ctx = createTestContext({ env, ...(login ? { browser: (url: string) => signInWithHttp(url, { login }) } : {}) });
  const code = await run(args, ctx);
  await Promise.all(ctx.browserRuns);
  expect(code, ctx.stderr.text).toBe(0);
  return ctx.stdout.text.trim();
}

/** A fresh XTALK_HOME with `login` signed in; returns its environment. */
async function signedIn(login: string): Promise<Record<string, string>> {
  const ctx = createTestContext({ env: envFor(''), browser: (url) => signInWithHttp(url, { login }) });
  (ctx.env as Record<string, string>).XTALK_HOME = ctx.home;
  expect(await run(['login'], ctx), ctx.stderr.text).toBe(0);
  await Promise.all(ctx.browserRuns);
  return envFor(ctx.home);
}

/**
 * Runs `fn` (the API's calls) with the clock 5 s ahead. Files written within the last 2 s are never
 * trusted by their times (src/shared/file-stamp.ts), so without this a store the test has just
 * written would be read again by every call and memory would never be used.
 */
async function ahead<T>(fn: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5000 });
  try {
    return await fn();
  } finally {
    vi.useRealTimers();
  }
}

function tokenFor(opts: Parameters<typeof getAccessToken>[0]): Promise<string> {
  return ahead(() => getAccessToken(opts));
}

/** Two calls in a row: the second is the one answered from memory. */
async function tokenTwice(env: Record<string, string>): Promise<string> {
  const first = await tokenFor({ env, cwd: env.XTALK_HOME });
  expect(await tokenFor({ env, cwd: env.XTALK_HOME })).toBe(first);
  return first;
}

describe('getAccessToken between changes by the CLI or another program', () => {
  it('sees a refresh', async () => {
    const env = await signedIn('mem-refresh');
    const before = await tokenTwice(env);
    await xtalk(['refresh'], env);
    const after = await tokenFor({ env, cwd: env.XTALK_HOME });
    expect(after).not.toBe(before);
    expect(after).toBe(await xtalk(['token'], env));
  });

  it('sees a logout, then a login as someone else', async () => {
    const env = await signedIn('mem-logout');
    await tokenTwice(env);
    await xtalk(['logout'], env);
    await expect(tokenFor({ env, cwd: env.XTALK_HOME })).rejects.toMatchObject({ code: 'LOGIN_REQUIRED' });
    await xtalk(['login'], env, 'mem-next');
    expect(await tokenFor({ env, cwd: env.XTALK_HOME })).toBe(await xtalk(['token'], env));
  });

  it('sees a second login and a switch back (another current account)', async () => {
    const env = await signedIn('mem-first');
    const first = await tokenTwice(env);
    await xtalk(['login'], env, 'mem-second');
    const second = await tokenFor({ env, cwd: env.XTALK_HOME });
    expect(second).not.toBe(first);
    expect(second).toBe(await xtalk(['token'], env));
    await xtalk(['switch', 'mem-first'], env);
    expect(await tokenFor({ env, cwd: env.XTALK_HOME })).toBe(first);
    // An account named by the call is remembered apart from the current one.
    expect(await tokenFor({ env, cwd: env.XTALK_HOME, account: 'mem-second' })).toBe(second);
    expect(await tokenFor({ env, cwd: env.XTALK_HOME })).toBe(first);
  });

  it('sees the store deleted, and a store moved into its place', async () => {
    const env = await signedIn('mem-deleted');
    const other = await signedIn('mem-moved');
    await tokenTwice(env);
    const otherToken = await tokenTwice(other);
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(env.XTALK_HOME!, `xtalk.db${suffix}`), { force: true });
    await expect(tokenFor({ env, cwd: env.XTALK_HOME })).rejects.toMatchObject({ code: 'LOGIN_REQUIRED' });

    const again = await signedIn('mem-replaced');
    await tokenTwice(again);
    // Another store (its database checkpointed into one file, with its own key) renamed over this one.
    await xtalk(['status'], other);
    copyFileSync(join(other.XTALK_HOME!, 'xtalk.db'), join(again.XTALK_HOME!, 'moved.db'));
    copyFileSync(join(other.XTALK_HOME!, 'xtalk.key'), join(again.XTALK_HOME!, 'moved.key'));
    renameSync(join(again.XTALK_HOME!, 'moved.key'), join(again.XTALK_HOME!, 'xtalk.key'));
    renameSync(join(again.XTALK_HOME!, 'moved.db'), join(again.XTALK_HOME!, 'xtalk.db'));
    expect(await tokenFor({ env: again, cwd: again.XTALK_HOME })).toBe(otherToken);
  });

  it('sees the key file replaced: the token it would decrypt is not served from memory', async () => {
    const env = await signedIn('mem-key');
    await tokenTwice(env);
    const key = join(env.XTALK_HOME!, 'xtalk.key');
    writeFileSync(`${key}.new`, `${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o600 });
    renameSync(`${key}.new`, key);
    await expect(tokenFor({ env, cwd: env.XTALK_HOME })).rejects.toMatchObject({ code: 'TOKEN_UNDECRYPTABLE' });
  });

  it('sees a changed setting: another XTALK_HOME in the same env object, a config.json written between calls', async () => {
    const a = await signedIn('mem-env-a');
    const b = await signedIn('mem-env-b');
    const env = { ...a };
    const cwd = mkdtempSync(join(tmpdir(), 'xtalk-mem-cwd-'));
    const tokenA = await tokenFor({ env, cwd });
    expect(await tokenFor({ env, cwd })).toBe(tokenA);
    env.XTALK_HOME = b.XTALK_HOME!;
    const tokenB = await tokenFor({ env, cwd });
    expect(tokenB).not.toBe(tokenA);
    expect(tokenB).toBe(await xtalk(['token'], b));

    // createFetch judges each request against the settings as they are now.
    const api = await startApiServer();
    try {
      const send = createFetch({ env, cwd });
      await expect(ahead(() => send(`${api.origin}/x`))).rejects.toMatchObject({ code: 'BEARER_DESTINATION_REFUSED' });
      writeFileSync(join(env.XTALK_HOME, 'config.json'), JSON.stringify({ api_url: api.origin }));
      expect((await ahead(() => send(`${api.origin}/x`))).status).toBe(200);
      expect(api.authorizations.at(-1)).toBe(`Bearer ${tokenB}`);
      writeFileSync(join(env.XTALK_HOME, 'config.json'), JSON.stringify({ api_url: 'https://elsewhere.example' }));
      await expect(ahead(() => send(`${api.origin}/x`))).rejects.toMatchObject({ code: 'BEARER_DESTINATION_REFUSED' });
    } finally {
      await api.stop();
    }
  });

  // A read-only bind mount needs root (CI runs as root). There no connection can be kept open to
  // watch the store; its file's identity, size and times, and the absence of a -wal, stand in.
  it.skipIf(process.getuid?.() !== 0)('sees a refresh through another path while reading a read-only view of the folder', async () => {
    const env = await signedIn('mem-readonly');
    const view = mkdtempSync(join(tmpdir(), 'xtalk-mem-ro-'));
    execFileSync('mount', ['--bind', '-o', 'ro', env.XTALK_HOME!, view]);
    try {
      const roEnv = { ...env, XTALK_HOME: view };
      const before = await tokenTwice(roEnv);
      await xtalk(['refresh'], env);
      const after = await tokenFor({ env: roEnv, cwd: view });
      expect(after).not.toBe(before);
      expect(after).toBe(await xtalk(['token'], env));
    } finally {
      execFileSync('umount', [view]);
    }
  });

  it('never answers from memory a token that is not fresh enough for minTtl', async () => {
    const env = await signedIn('mem-minttl');
    const before = await tokenTwice(env);
    const grants = provider.refreshGrantCount();
    // 400 s on, the remembered token has ≈ 200 s left: not enough for 300, while a refreshed one
    // (600 s) is (a minTtl beyond the tokens' life would be MIN_TTL_UNSATISFIABLE instead).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 400_000 });
    let after: string;
    try {
      after = (await getToken({ env, cwd: env.XTALK_HOME, minTtl: 300 })).access_token;
    } finally {
      vi.useRealTimers();
    }
    expect(after).not.toBe(before);
    expect(provider.refreshGrantCount() - grants).toBe(1);
  });
});

/** An API on 127.0.0.1 that answers 200 and notes each Authorization header. */
async function startApiServer() {
  const authorizations: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, authorizations, stop: () => new Promise((resolve) => server.close(resolve)) };
}
