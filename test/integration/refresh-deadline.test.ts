import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFreshToken } from '../../src/auth/refresh/single-flight.js';
import { run } from '../../src/cli/run.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { NetworkError } from '../../src/errors.js';
import { ProviderClient } from '../../src/oidc/client.js';
import { createUi } from '../../src/output/ui.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider();
});
afterAll(async () => {
  await provider?.stop();
});

/** Every provider request takes `ms` longer: each well inside its own limit, together not. */
const slowFetch = (ms: number): typeof fetch =>
  (async (input: string | URL | Request, init?: RequestInit) => {
    await new Promise((r) => setTimeout(r, ms));
    return fetch(input, init);
  }) as typeof fetch;

describe('the refresh under the write lock is bounded as a whole', () => {
  it('discovery, refresh and keys that together outlast the limit end with a clear error, and nothing is stored', async () => {
    const env = { XTALK_ISSUER: provider.issuer, XTALK_CLIENT_ID: provider.confidentialClient.clientId, XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret };
    const ctx = createTestContext({ env, browser: (url) => signInWithHttp(url, { login: 'tardy' }) });
    expect(await run(['login'], ctx), ctx.stderr.text).toBe(0);
    await Promise.all(ctx.browserRuns);

    ctx.discover = (settings) => ProviderClient.discover({ ...settings, fetch: slowFetch(700) });
    const config = resolveConfig({ flags: {}, env: ctx.env, cwd: ctx.cwd, platform: ctx.platform });
    const store = ctx.openStore({ paths: config.paths, mode: config.credentialStore, keyCacheSeconds: 0, warn: () => {} });
    try {
      const account = store.currentAccount()!;
      const before = await store.latestAccessToken(account.id);
      const grants = provider.refreshGrantCount();
      const deps = { ctx, ui: createUi(ctx.io, ctx.env), store, config, lockedWorkSeconds: 1 };
      const err = await getFreshToken(deps, account, { force: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect((err as Error).message).toBe(
        'The provider did not complete the token refresh within 1 s; xtalk gave up so that other xtalk processes waiting for it are not held up.',
      );
      expect(await store.latestAccessToken(account.id)).toEqual(before);
      expect(provider.refreshGrantCount() - grants).toBeLessThanOrEqual(1);

      // With time enough the same slow provider works.
      const token = await getFreshToken({ ...deps, lockedWorkSeconds: 20 }, account, { force: true });
      expect(token.accessToken).not.toBe(before!.accessToken);
    } finally {
      store.close();
    }
  }, 60_000);
});
