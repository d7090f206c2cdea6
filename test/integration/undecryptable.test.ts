import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
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

const env = () => ({
  XTALK_ISSUER: provider.issuer,
  XTALK_CLIENT_ID: provider.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
});

async function xtalk(home: string, args: string[], login = 'x') {
  const ctx = createTestContext({ env: env(), home, browser: (url) => signInWithHttp(url, { login }) });
  const code = await run(args, ctx);
  await Promise.all(ctx.browserRuns);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text };
}

function storeOf(home: string) {
  return openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
}

function tokenRows(home: string): number {
  const store = storeOf(home);
  try {
    return store.db.prepare('SELECT (SELECT count(*) FROM access_token) + (SELECT count(*) FROM refresh_token)').pluck().get() as number;
  } finally {
    store.close();
  }
}

async function tokensOf(home: string): Promise<string[]> {
  const store = storeOf(home);
  try {
    const id = store.currentAccount()!.id;
    return [(await store.refreshToken(id))!.refreshToken, ...(await store.unexpiredAccessTokens(id, Date.now())).map((t) => t.accessToken)];
  } finally {
    store.close();
  }
}

/** Another well-formed data key in place of the real one: every stored ciphertext becomes unreadable. */
function replaceDataKey(home: string): void {
  writeFileSync(join(home, 'xtalk.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
}

async function signedIn(login: string): Promise<string> {
  const home = createTestContext().home;
  const r = await xtalk(home, ['login'], login);
  expect(r.code, r.stderr).toBe(0);
  return home;
}

describe('tokens that cannot be decrypted (a wrong but well-formed data key)', () => {
  it('logout --force deletes them, saying so; logout without --force keeps them (exit 5)', async () => {
    const home = await signedIn('una');
    replaceDataKey(home);
    const token = await xtalk(home, ['token']);
    expect(token.code).toBe(1);
    expect(token.stderr).toContain('could not be decrypted');
    expect(token.stderr).toContain('xtalk logout --force');

    const kept = await xtalk(home, ['logout']);
    expect(kept.code, kept.stderr).toBe(5);
    expect(kept.stderr).toMatch(/cannot be decrypted/);
    expect(tokenRows(home)).toBe(2);

    const forced = await xtalk(home, ['logout', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/Deleted 2 token\(s\) of una that could not be decrypted/);
    expect(tokenRows(home)).toBe(0);
  });

  it('a new login is not blocked by them: it drops them, and token and logout work again', async () => {
    const home = await signedIn('vic');
    replaceDataKey(home);
    const again = await xtalk(home, ['login'], 'vic');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/could not be decrypted/);
    const token = await xtalk(home, ['token']);
    expect(token.code, token.stderr).toBe(0);
    const fresh = await tokensOf(home);
    expect(fresh).toHaveLength(2);

    const out = await xtalk(home, ['logout']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain('2 tokens revoked');
    for (const t of fresh) expect((await provider.introspect(t)).active).toBe(false);
    expect(tokenRows(home)).toBe(0);
  });
});
