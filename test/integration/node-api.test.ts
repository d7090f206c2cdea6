import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import {
  createFetch,
  getAccessToken,
  getToken,
  listAccounts,
  LoginRequiredError,
  SessionExpiredError,
  UsageError,
  whoami,
  XtalkError,
} from '../../src/index.js';
import { ProviderClient } from '../../src/oidc/client.js';
import { leaseConnection, openStore } from '../../src/store/index.js';
import { startBadProvider } from '../helpers/bad-provider.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

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

/** Signs `login` in through the CLI into a fresh XTALK_HOME; returns the environment the API reads. */
async function signedIn(login: string): Promise<Record<string, string>> {
  const ctx = createTestContext({ env: envFor(''), browser: (url) => signInWithHttp(url, { login }) });
  (ctx.env as Record<string, string>).XTALK_HOME = ctx.home;
  const code = await run(['login'], ctx);
  await Promise.all(ctx.browserRuns);
  expect(code, ctx.stderr.text).toBe(0);
  return envFor(ctx.home);
}

async function cliToken(env: Record<string, string>): Promise<string> {
  const ctx = createTestContext({ env });
  expect(await run(['token'], ctx), ctx.stderr.text).toBe(0);
  return ctx.stdout.text.trim();
}

function storedRefreshToken(env: Record<string, string>): Promise<string | undefined> {
  const store = openStore({
    dbPath: join(env.XTALK_HOME!, 'xtalk.db'),
    keyFilePath: join(env.XTALK_HOME!, 'xtalk.key'),
    mode: 'file',
    warn: () => {},
  });
  return store.refreshToken(store.currentAccount()!.id).then((r) => {
    store.close();
    return r?.refreshToken;
  });
}

describe('the Node API over the CLI store', () => {
  it('getAccessToken, getToken, whoami and listAccounts see what the CLI stored', async () => {
    const env = await signedIn('api-alice');
    const token = await getAccessToken({ env });
    expect(token).toBe(await cliToken(env));
    expect(await getToken({ env })).toMatchObject({ access_token: token, token_type: 'Bearer' });
    expect(await whoami({ env })).toMatchObject({ sub: 'api-alice', username: 'api-alice', current: true, credential_store: 'file' });
    expect(await whoami({ env, account: 'api-alice' })).toMatchObject({ sub: 'api-alice' });
    const accounts = await listAccounts({ env });
    expect(accounts.map((a) => [a.sub, a.current])).toEqual([['api-alice', true]]);
    expect((await provider.introspect(token)).active).toBe(true);
  });

  // A read-only bind mount needs root (CI runs as root).
  it.skipIf(process.getuid?.() !== 0)('getAccessToken, whoami and listAccounts read a store in a read-only folder', async () => {
    const env = await signedIn('api-readonly');
    const token = await cliToken(env);
    const view = mkdtempSync(join(tmpdir(), 'xtalk-ro-'));
    execFileSync('mount', ['--bind', '-o', 'ro', env.XTALK_HOME!, view]);
    try {
      const roEnv = { ...env, XTALK_HOME: view };
      expect(await getAccessToken({ env: roEnv })).toBe(token);
      expect(await whoami({ env: roEnv })).toMatchObject({ sub: 'api-readonly' });
      expect((await listAccounts({ env: roEnv })).map((a) => a.sub)).toEqual(['api-readonly']);
    } finally {
      execFileSync('umount', [view]);
    }
  });

  it('minTtl longer than the tokens live refreshes once, fails MIN_TTL_UNSATISFIABLE, and keeps the new token for the CLI', async () => {
    const env = await signedIn('api-bob');
    const before = await getAccessToken({ env });
    const grants = provider.refreshGrantCount();
    const error = await getAccessToken({ env, minTtl: 3600 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({
      code: 'MIN_TTL_UNSATISFIABLE',
      exitCode: 2,
      facts: { minTtlSeconds: 3600, lifetimeSeconds: 600 },
      hint: 'The provider issues access tokens of 600 s: ask for a minTtl below that (the refreshed token was stored).',
    });
    expect(provider.refreshGrantCount() - grants).toBe(1);
    const after = await cliToken(env);
    expect(after).not.toBe(before);
    expect((await provider.introspect(after)).active).toBe(true);
    // A margin the provider's tokens can meet is served from the store.
    expect(await getAccessToken({ env, minTtl: 500 })).toBe(after);
    expect(provider.refreshGrantCount() - grants).toBe(1);
  });

  it('a connection the process keeps open between calls still sees a CLI logout and a new login (no stale key or account)', async () => {
    const env = await signedIn('api-carol');
    // Held like a concurrent call would hold it: the pool then keeps the API's connection open too.
    const held = await leaseConnection(join(env.XTALK_HOME!, 'xtalk.db'));
    try {
      const first = await getAccessToken({ env });
      expect(first).toBe(await cliToken(env));
      // The last account logs out: its tokens and the store's data key (the key file) are deleted.
      const logout = createTestContext({ env });
      expect(await run(['logout'], logout), logout.stderr.text).toBe(0);
      await expect(getAccessToken({ env })).rejects.toMatchObject({ code: 'LOGIN_REQUIRED' });
      await expect(whoami({ env })).rejects.toMatchObject({ code: 'LOGIN_REQUIRED' });
      // A new login writes with a new data key; a key kept from before could not decrypt its token.
      const login = createTestContext({ env, browser: (url) => signInWithHttp(url, { login: 'api-dave' }) });
      expect(await run(['login'], login), login.stderr.text).toBe(0);
      await Promise.all(login.browserRuns);
      const second = await getAccessToken({ env });
      expect(second).not.toBe(first);
      expect(second).toBe(await cliToken(env));
      expect(await whoami({ env })).toMatchObject({ sub: 'api-dave', current: true });
    } finally {
      held.release();
    }
  });

  it('typed errors with stable codes where the CLI exits 4 or 2', async () => {
    const empty = envFor(createTestContext().home);
    const notLoggedIn = await getAccessToken({ env: empty }).catch((e: unknown) => e);
    expect(notLoggedIn).toBeInstanceOf(LoginRequiredError);
    expect(notLoggedIn).toMatchObject({ code: 'LOGIN_REQUIRED', exitCode: 4, hint: expect.stringMatching(/xtalk login/) });
    await expect(whoami({ env: empty })).rejects.toBeInstanceOf(LoginRequiredError);
    await expect(whoami({ env: empty, account: 'nobody' })).rejects.toMatchObject({ code: 'LOGIN_REQUIRED' });
    expect(await listAccounts({ env: empty })).toEqual([]);
    await expect(getAccessToken({ env: empty, minTtl: -1 })).rejects.toBeInstanceOf(UsageError);
    await expect(getAccessToken({ env: empty, minTtl: Number.NaN })).rejects.toMatchObject({ code: 'USAGE' });

    const env = await signedIn('api-revoked');
    await provider.revoke((await storedRefreshToken(env))!);
    const expired = await getAccessToken({ env, minTtl: 3600 }).catch((e: unknown) => e);
    expect(expired).toBeInstanceOf(SessionExpiredError);
    expect(expired).toBeInstanceOf(LoginRequiredError);
    expect(expired).toMatchObject({ code: 'SESSION_EXPIRED', exitCode: 4 });
  });

  it('hands programs hints that name no CLI flag (src/api/hints.ts), where the CLI names its flags', async () => {
    const flag = /(^|[\s(`'"])--[a-zA-Z]/;
    const env = { ...envFor(createTestContext().home), XTALK_TIMEOUT: 'soon' };
    // A bad setting: the CLI says `--timeout 120`, a program is told the variable.
    const cli = createTestContext({ env });
    expect(await run(['token'], cli)).toBe(1);
    expect(cli.stderr.text).toMatch(/XTALK_TIMEOUT[\s\S]*hint: .*--timeout 120/);
    const bad = await getAccessToken({ env }).catch((e: unknown) => e);
    expect(bad).toMatchObject({
      code: 'CONFIG_INVALID',
      exitCode: 1,
      facts: { setting: 'timeout' },
      hint: expect.stringMatching(/XTALK_TIMEOUT=120/),
    });
    expect((bad as XtalkError).hint).not.toMatch(flag);
    // The API's own options, synchronous or not.
    const empty = envFor(createTestContext().home);
    await expect(getAccessToken({ env: empty, minTtl: -1 })).rejects.toMatchObject({
      hint: 'For example: getAccessToken({ minTtl: 300 })',
    });
    expect(() => createFetch({ env: empty, minTtl: -1 })).toThrow(
      expect.objectContaining({ hint: 'For example: getAccessToken({ minTtl: 300 })' }),
    );
    const relative = await createFetch({ env: await signedIn('api-hints') })('devices').catch((e: unknown) => e);
    expect(relative).toMatchObject({ code: 'USAGE', hint: expect.stringMatching(/^Pass createFetch\(\{ baseUrl/) });
  });

  it('a broken discovery document is DISCOVERY_FAILED; an unreachable provider NETWORK_ERROR', async () => {
    const bad = await startBadProvider('html');
    try {
      const e = await ProviderClient.discover({ issuer: bad.issuer, clientId: 'x', timeoutSeconds: 5 }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(XtalkError);
      expect(e).toMatchObject({ code: 'DISCOVERY_FAILED', exitCode: 1 });
      // The Node API hands programs the same hint the CLI prints, chosen from the code and its facts.
      expect(e).toMatchObject({
        facts: { reason: 'not_json' },
        hint: expect.stringMatching(/must return the provider's discovery document/),
      });
    } finally {
      await bad.stop();
    }
    const closed = await startBadProvider('html');
    await closed.stop();
    const e = await ProviderClient.discover({ issuer: closed.issuer, clientId: 'x', timeoutSeconds: 5 }).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'NETWORK_ERROR', exitCode: 1 });
  });
});

/**
 * A resource server on 127.0.0.1 that accepts tokens the provider says are active, except that it
 * refuses the first `refusals` requests with 401 `invalid_token` (a token revoked early).
 */
async function startResourceServer(
  refusals: number,
  challenge = 'Bearer realm="iottalk", error="invalid_token", error_description="revoked"',
  denied = new Set<string>(),
) {
  const seen: { authorization: string | undefined; body: string; path?: string }[] = [];
  let refused = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      seen.push({ authorization: req.headers.authorization, body, ...(req.url === '/api/devices' ? {} : { path: req.url }) });
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (refused < refusals || !token || denied.has(token) || !(await provider.introspect(token)).active) {
        refused++;
        res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' });
        res.end('{"error":"invalid_token"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/devices`;
  return { url, seen, stop: () => new Promise((resolve) => server.close(resolve)) };
}

describe('createFetch', () => {
  it('401 invalid_token once: one refresh, one retry with the new token, success', async () => {
    const env = await signedIn('fetch-once');
    const api = await startResourceServer(1);
    try {
      const grants = provider.refreshGrantCount();
      const res = await createFetch({ env, baseUrl: api.url })(api.url, {
        method: 'POST',
        body: 'temperature=21',
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, body: 'temperature=21' });
      expect(provider.refreshGrantCount() - grants).toBe(1);
      expect(api.seen).toHaveLength(2);
      const [first, second] = api.seen.map((s) => s.authorization);
      expect(first).toMatch(/^Bearer \S+$/);
      expect(second).toBe(`Bearer ${await getAccessToken({ env })}`);
      expect(second).not.toBe(first);
      expect(api.seen[1]!.body).toBe('temperature=21');
    } finally {
      await api.stop();
    }
  });

  it('401 invalid_token again after the retry: that answer surfaces, after one refresh and two requests', async () => {
    const env = await signedIn('fetch-twice');
    const api = await startResourceServer(2);
    try {
      const grants = provider.refreshGrantCount();
      const res = await createFetch({ env, allowedOrigins: [new URL(api.url).origin] })(new URL(api.url));
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'invalid_token' });
      expect(provider.refreshGrantCount() - grants).toBe(1);
      expect(api.seen).toHaveLength(2);
    } finally {
      await api.stop();
    }
  });

  it('a token the API server no longer accepts: five requests at once cause one refresh and all succeed', async () => {
    const env = await signedIn('fetch-denied');
    const api = await startResourceServer(0, undefined, new Set([await getAccessToken({ env })]));
    try {
      const grants = provider.refreshGrantCount();
      const xfetch = createFetch({ env, baseUrl: api.url });
      const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => xfetch(`${api.url}?n=${i}`)));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(provider.refreshGrantCount() - grants).toBe(1);
      expect(api.seen).toHaveLength(10);
    } finally {
      await api.stop();
    }
  });

  it('never refreshes or resends for a one-shot stream body, another 401, or a Request with a body', async () => {
    const env = await signedIn('fetch-stream');
    const grants = provider.refreshGrantCount();
    const api = await startResourceServer(1);
    const withRequest = await startResourceServer(1);
    const scope = await startResourceServer(1, 'Bearer error="insufficient_scope", scope="devices:write"');
    const xfetch = createFetch({ env, allowedOrigins: [api, withRequest, scope].map((s) => new URL(s.url).origin) });
    try {
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('chunk'));
          c.close();
        },
      });
      const res = await xfetch(api.url, { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(401);
      expect(api.seen).toHaveLength(1);
      expect(api.seen[0]!.body).toBe('chunk');
    } finally {
      await api.stop();
    }
    try {
      const res = await xfetch(new Request(withRequest.url, { method: 'POST', body: 'x', headers: { 'x-device': 'd1' } }));
      expect(res.status).toBe(401);
      expect(withRequest.seen).toHaveLength(1);
    } finally {
      await withRequest.stop();
    }
    try {
      expect((await xfetch(scope.url)).status).toBe(401);
      expect(scope.seen).toHaveLength(1);
    } finally {
      await scope.stop();
    }
    expect(provider.refreshGrantCount() - grants).toBe(0);
  });

  it("keeps the caller's headers, replaces an Authorization header, and sends a Request's own headers", async () => {
    const env = await signedIn('fetch-headers');
    const api = await startResourceServer(0);
    try {
      const xfetch = createFetch({ env, baseUrl: new URL(api.url).origin });
      const token = await getAccessToken({ env });
      expect((await xfetch(api.url, { headers: { authorization: 'Basic eDp5', accept: 'application/json' } })).status).toBe(200);
      expect((await xfetch(new Request(api.url, { headers: { accept: 'text/plain' } }))).status).toBe(200);
      expect(api.seen.map((s) => s.authorization)).toEqual([`Bearer ${token}`, `Bearer ${token}`]);
    } finally {
      await api.stop();
    }
  });
});

describe('createFetch: where the token may go (src/core/bearer-destination.ts)', () => {
  /** A fetch that records what it was asked to send and answers 200 itself: nothing reaches a network. */
  const spyFetch = () => {
    const calls: { url: string; authorization: string | null }[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({
        url: String(input instanceof Request ? input.url : input),
        authorization: new Headers(init?.headers).get('authorization'),
      });
      return new Response('{}', { status: 200 });
    };
    return { calls, fetch };
  };

  it('rejects a URL on another origin with BEARER_DESTINATION_REFUSED, before anything is sent or refreshed', async () => {
    const env = await signedIn('fetch-elsewhere');
    const api = await startResourceServer(0);
    const other = await startResourceServer(0);
    try {
      const grants = provider.refreshGrantCount();
      // Neither api_url nor the issuer is the server's origin, and the program named none.
      const plain = createFetch({ env });
      await expect(plain(other.url)).rejects.toMatchObject({
        code: 'BEARER_DESTINATION_REFUSED',
        exitCode: 2,
        facts: { origin: new URL(other.url).origin, reason: 'origin-not-allowed' },
      });
      const named = createFetch({ env, baseUrl: new URL('/api', api.url) });
      await expect(named(other.url)).rejects.toBeInstanceOf(XtalkError);
      await expect(named(new Request(other.url, { headers: { 'x-a': 'b' } }))).rejects.toMatchObject({
        code: 'BEARER_DESTINATION_REFUSED',
      });
      expect(other.seen).toEqual([]);
      expect(provider.refreshGrantCount()).toBe(grants);

      // The named origin works, relative URLs go below baseUrl.
      expect((await named('devices')).status).toBe(200);
      expect((await named('/devices?x=1')).status).toBe(200);
      expect(api.seen.map((s) => s.path)).toEqual([undefined, '/api/devices?x=1']);
      expect(api.seen.every((s) => s.authorization === api.seen[0]!.authorization && /^Bearer \S+$/.test(s.authorization ?? ''))).toBe(
        true,
      );
    } finally {
      await api.stop();
      await other.stop();
    }
  });

  it('takes api_url (XTALK_API_URL) as the base and an allowed origin; a relative URL without either is a usage error', async () => {
    const signed = await signedIn('fetch-api-url');
    const api = await startResourceServer(0);
    try {
      const env = { ...signed, XTALK_API_URL: `${new URL(api.url).origin}/api` };
      expect((await createFetch({ env })('devices')).status).toBe(200);
      expect((await createFetch({ env })(api.url)).status).toBe(200);
      expect(api.seen).toHaveLength(2);
      await expect(createFetch({ env: signed })('devices')).rejects.toBeInstanceOf(UsageError);
      expect(() => createFetch({ env, allowedOrigins: ['https://api.example/v1'] })).toThrow(UsageError);
      expect(() => createFetch({ env, baseUrl: 'ftp://api.example/' })).toThrow(UsageError);
    } finally {
      await api.stop();
    }
  });

  it('plain http to a host that is not loopback: refused before any request; sent once the program or the user opts into that origin', async () => {
    const env = await signedIn('fetch-insecure');
    const lab = 'http://lab.example.test:8080';
    const spy = spyFetch();
    await expect(createFetch({ env, fetch: spy.fetch, baseUrl: `${lab}/api` })('devices')).rejects.toMatchObject({
      code: 'BEARER_DESTINATION_REFUSED',
      facts: { origin: lab, reason: 'not-https' },
      hint: expect.stringMatching(/insecureHttpOrigins/),
    });
    await expect(
      createFetch({ env, fetch: spy.fetch, baseUrl: lab, insecureHttpOrigins: ['http://lab.example.test'] })('x'),
    ).rejects.toMatchObject({ code: 'BEARER_DESTINATION_REFUSED' });
    expect(spy.calls).toEqual([]);

    const token = await getAccessToken({ env });
    expect((await createFetch({ env, fetch: spy.fetch, baseUrl: `${lab}/api`, insecureHttpOrigins: [lab] })('devices')).status).toBe(200);
    expect(
      (await createFetch({ env: { ...env, XTALK_INSECURE_HTTP_ORIGINS: lab }, fetch: spy.fetch, allowedOrigins: [lab] })(`${lab}/x`))
        .status,
    ).toBe(200);
    expect(spy.calls).toEqual([
      { url: `${lab}/api/devices`, authorization: `Bearer ${token}` },
      { url: `${lab}/x`, authorization: `Bearer ${token}` },
    ]);
  });
});
