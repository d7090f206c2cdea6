import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type KoaMiddleware, type TestProvider } from '../provider/provider.js';
import { rawDb } from '../helpers/raw-db.js';
import { clientEnv, runCli } from './cli.js';

/** How long the provider sits on each token-endpoint request before answering it. */
let tokenDelayMs = 0;
const slowToken: KoaMiddleware = async (ctx, next) => {
  if (ctx.path !== '/token' || ctx.method !== 'POST' || tokenDelayMs === 0) return next();
  await new Promise((r) => setTimeout(r, tokenDelayMs));
  // The client gave up meanwhile: a real provider's answer would be lost too; do not rotate anything.
  if ((ctx as unknown as { req: { socket: { destroyed: boolean } } }).req.socket.destroyed) return;
  await next();
};

let provider: TestProvider;
beforeAll(async () => {
  // Hour-long tokens: a caller starting late on a loaded machine finds the refreshed token fresh
  // (with short ones it would rightly refresh again); rounds start expired through expireStoredToken.
  provider = await startTestProvider({ accessTokenTtl: 3600, middleware: [slowToken] });
});
afterAll(async () => {
  await provider?.stop();
});

const cliEnv = (home: string) => clientEnv(provider, home, { XTALK_CREDENTIAL_STORE: 'file' });

async function loginHome(name: string): Promise<string> {
  const ctx = createTestContext({ env: { ...cliEnv(''), XTALK_HOME: undefined }, browser: (url) => signInWithHttp(url, { login: name }) });
  (ctx.env as Record<string, string>).XTALK_HOME = ctx.home;
  const code = await run(['login'], ctx);
  await Promise.all(ctx.browserRuns);
  expect(code, ctx.stderr.text).toBe(0);
  return ctx.home;
}

/** Makes the stored access token expired, as its lifetime passing would: its expiry (a plain column) moves into the past. */
function expireStoredToken(home: string): void {
  const past = Date.now() - 60_000;
  rawDb(join(home, 'xtalk.db')).run(
    'UPDATE access_token SET expires_at = ?, created_at = ? WHERE expires_at > ?',
    past,
    past - 3_600_000,
    past,
  );
}

const parallelTokens = (home: string) =>
  Promise.all(Array.from({ length: 12 }, () => runCli(['token'], { env: cliEnv(home), timeoutMs: 90_000 })));

describe('12 parallel `xtalk token` against a provider that answers the refresh slowly', () => {
  it('slower than every per-request timeout and the preparation bound: the sent grant is awaited, every caller gets its one token, the session renews from it', async () => {
    const home = await loginHome('slowpoke');
    expireStoredToken(home);
    const before = provider.refreshGrantCount();
    // Longer than the 10 s per request and the 20 s everything before the grant may take.
    tokenDelayMs = 25_000;
    let results;
    try {
      results = await parallelTokens(home);
    } finally {
      tokenDelayMs = 0;
    }
    for (const r of results) {
      expect(r.signal).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
    }
    expect(new Set(results.map((r) => r.stdout)).size).toBe(1);
    expect(provider.refreshGrantCount() - before).toBe(1);
    expect(provider.grantErrors).toEqual([]);
    // The rotated refresh token was stored: the next refresh is accepted.
    const next = await runCli(['refresh'], { env: cliEnv(home) });
    expect(next.code, next.stderr).toBe(0);
    expect(provider.grantErrors).toEqual([]);
  }, 120_000);

  it('slow within the limits: every caller gets the one token from a single refresh grant', async () => {
    const home = await loginHome('patient');
    expireStoredToken(home);
    const before = provider.refreshGrantCount();
    tokenDelayMs = 3_000;
    let results;
    try {
      results = await parallelTokens(home);
    } finally {
      tokenDelayMs = 0;
    }
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(new Set(results.map((r) => r.stdout)).size).toBe(1);
    expect(provider.refreshGrantCount() - before).toBe(1);
  }, 120_000);
});
