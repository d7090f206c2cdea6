/**
 * The Node API's `signal`: a call that waits for a refresh another call is doing ends with
 * CancelledError when its signal aborts, without waiting for that refresh, while the refresh itself
 * completes and is stored.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { CancelledError, createFetch, getAccessToken, getToken } from '../../src/index.js';
import { createTestContext } from '../fakes/context.js';
import { rawDb } from '../helpers/raw-db.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type KoaMiddleware, type TestProvider } from '../provider/provider.js';

/** While armed, the token endpoint reports each request's arrival and answers only once released. */
let hold: { arrived: () => void; released: Promise<void> } | undefined;
const holdTokenAnswers: KoaMiddleware = async (ctx, next) => {
  const armed = hold;
  if (armed && ctx.path === '/token' && ctx.method === 'POST') {
    armed.arrived();
    await armed.released;
  }
  await next();
};

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider({ accessTokenTtl: 600, rotateRefreshToken: true, middleware: [holdTokenAnswers] });
});
afterAll(async () => {
  await provider?.stop();
});

/** Makes the stored access tokens expired, so the next call refreshes (a `minTtl` beyond the tokens' life would be MIN_TTL_UNSATISFIABLE). */
function expireStoredTokens(env: Record<string, string>): void {
  const db = rawDb(join(env.XTALK_HOME as string, 'xtalk.db'));
  const past = Date.now() - 60_000;
  db.run('UPDATE access_token SET expires_at = ?, created_at = ? WHERE expires_at > ?', past, past - 600_000, past);
  expect(db.value('SELECT COUNT(*) FROM access_token WHERE expires_at > ?', Date.now())).toBe(0);
}

async function signedIn(login: string): Promise<Record<string, string>> {
  const ctx = createTestContext({ env: {}, browser: (url) => signInWithHttp(url, { login }) });
  const env = {
    XTALK_HOME: ctx.home,
    XTALK_CREDENTIAL_STORE: 'file',
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  };
  Object.assign(ctx.env, env);
  const code = await run(['login'], ctx);
  await Promise.all(ctx.browserRuns);
  expect(code, ctx.stderr.text).toBe(0);
  return env;
}

it('aborting a getAccessToken that waits on another call’s refresh rejects it with CancelledError; the refresh still lands', async () => {
  const env = await signedIn('api-cancel');
  expireStoredTokens(env);
  let arrived!: () => void;
  const grantArrived = new Promise<void>((r) => (arrived = r));
  let release!: () => void;
  hold = { arrived, released: new Promise<void>((r) => (release = r)) };
  const grants = provider.refreshGrantCount();
  try {
    // The refresher holds the write lock from before its grant until the answer is stored.
    const refresher = getToken({ env });
    await grantArrived;
    const controller = new AbortController();
    const waiter = getAccessToken({ env, signal: controller.signal });
    controller.abort();
    // The refresh is held until the waiter has given up: one that ignored its signal never settles
    // (and would get the refresher's token once it is released).
    const error = await waiter.then(
      () => undefined,
      (e: unknown) => e,
    );
    release();
    expect(error).toBeInstanceOf(CancelledError);
    expect(error).toMatchObject({ code: 'CANCELLED', exitCode: 130 });
    const token = await refresher;
    expect(provider.refreshGrantCount() - grants).toBe(1);
    expect((await provider.introspect(token.access_token)).active).toBe(true);
    expect(await getAccessToken({ env })).toBe(token.access_token);
  } finally {
    hold = undefined;
    release();
  }
}, 20_000);

it('an already aborted signal rejects getAccessToken and a createFetch request before anything is sent', async () => {
  const env = await signedIn('api-cancel-early');
  const grants = provider.refreshGrantCount();
  const signal = AbortSignal.abort();
  await expect(getAccessToken({ env, minTtl: 3600, signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  const sent: string[] = [];
  const api = createFetch({
    env,
    minTtl: 3600,
    baseUrl: provider.issuer,
    fetch: async (input) => {
      sent.push(String(input));
      return new Response('ok');
    },
  });
  await expect(api('x', { signal })).rejects.toBeInstanceOf(CancelledError);
  await expect(createFetch({ env, minTtl: 3600, signal, baseUrl: provider.issuer })('x')).rejects.toBeInstanceOf(CancelledError);
  expect(sent).toEqual([]);
  expect(provider.refreshGrantCount() - grants).toBe(0);
});
