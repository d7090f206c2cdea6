import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { clientEnv, runCli, runProgram, XTALK_BIN } from './cli.js';
import { rawDb } from '../helpers/raw-db.js';
import { canStartSecretService, startPrivateSecretService } from '../integration/private-secret-service.js';
import { loginCli } from './xtalk-process.js';

let provider: TestProvider;
/**
 * Tokens live an hour: a caller that starts late in a round, on a loaded machine, still finds the
 * round's token fresh (with short tokens it would rightly refresh again). Rounds start expired
 * because the test moves the stored expiry into the past (see expireStoredToken), not by waiting.
 */
beforeAll(async () => {
  provider = await startTestProvider({ accessTokenTtl: 3600, rotateRefreshToken: true });
});
afterAll(async () => {
  await provider?.stop();
});

const API_CALLER = fileURLToPath(new URL('./api-caller.mjs', import.meta.url));

/** A JavaScript program calling getAccessToken() from the built Node API, as its own process. */
function runApiCaller(format: 'esm' | 'cjs', env: Record<string, string | undefined>) {
  return runProgram(process.execPath, [API_CALLER, format], { env });
}

function cliEnv(home: string) {
  return clientEnv(provider, home, { XTALK_CREDENTIAL_STORE: 'file' });
}

async function loginHome(name: string): Promise<string> {
  const ctx = createTestContext({ env: cliEnv(''), browser: (url) => signInWithHttp(url, { login: name }) });
  (ctx.env as Record<string, string>).XTALK_HOME = ctx.home;
  const code = await run(['login'], ctx);
  await Promise.all(ctx.browserRuns);
  expect(code, ctx.stderr.text).toBe(0);
  return ctx.home;
}

function storeOf(home: string) {
  return openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
}

/**
 * Makes the stored access tokens of `home` expired, as the passing of their lifetime would: their
 * expiry (a plain column; only the token itself is encrypted) moves a minute into the past.
 */
function expireStoredToken(home: string): void {
  const db = rawDb(join(home, 'xtalk.db'));
  const past = Date.now() - 60_000;
  db.run('UPDATE access_token SET expires_at = ?, created_at = ? WHERE expires_at > ?', past, past - 3_600_000, past);
  expect(db.value('SELECT COUNT(*) FROM access_token WHERE expires_at > ?', Date.now())).toBe(0);
}

/**
 * Every caller of one round succeeded and printed the same token, which one refresh grant (of the
 * round, counted from `before`) produced and the provider holds active; no refresh was refused.
 */
async function expectOneRefreshOneToken(
  results: { code: number | null; stdout: string; stderr: string }[],
  before: number,
  round: number,
): Promise<void> {
  for (const r of results) expect(r.code, r.stderr).toBe(0);
  const tokens = new Set(results.map((r) => r.stdout));
  expect(tokens.size, `round ${round}`).toBe(1);
  const token = [...tokens][0]!;
  expect(token).toMatch(/^\S+\n$/);
  expect(provider.refreshGrantCount() - before, `round ${round}`).toBe(1);
  expect((await provider.introspect(token.trim())).active).toBe(true);
  expect(provider.grantErrors.filter((e) => e.grantType === 'refresh_token')).toEqual([]);
}

describe('single-flight refresh across processes', () => {
  it('20 parallel `xtalk token` after expiry: one refresh grant, one token, active at the provider (3 rounds)', async () => {
    const home = await loginHome('parallel');
    for (let round = 0; round < 3; round++) {
      expireStoredToken(home);
      const before = provider.refreshGrantCount();
      const results = await Promise.all(Array.from({ length: 20 }, () => runCli(['token'], { env: cliEnv(home) })));
      await expectOneRefreshOneToken(results, before, round);
    }
  }, 120_000);

  it('10 Node API callers (ESM and CommonJS) and 10 `xtalk token` at once after expiry: one refresh grant, one token', async () => {
    const home = await loginHome('api-and-cli');
    for (let round = 0; round < 2; round++) {
      expireStoredToken(home);
      const before = provider.refreshGrantCount();
      const results = await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => runApiCaller(i % 2 ? 'cjs' : 'esm', cliEnv(home))),
        ...Array.from({ length: 10 }, () => runCli(['token'], { env: cliEnv(home) })),
      ]);
      await expectOneRefreshOneToken(results, before, round);
    }
  }, 120_000);

  it.runIf(canStartSecretService || process.env.CI)(
    '128 parallel `xtalk token` after expiry, keychain store, the CPU loaded: one refresh grant, one token for every caller, the session alive',
    async () => {
      const secretService = await startPrivateSecretService();
      // Two busy loops besides the 128 callers, on two cores: the keychain answers slowly too.
      const burners = Array.from({ length: 2 }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
      try {
        const env = (home: string) => ({
          ...cliEnv(home),
          XTALK_CREDENTIAL_STORE: 'keychain',
          DBUS_SESSION_BUS_ADDRESS: secretService.address,
        });
        const home = mkdtempSync(join(tmpdir(), 'xtalk-crowd-'));
        await loginCli(env(home), 'crowd');
        expireStoredToken(home);
        const before = provider.refreshGrantCount();
        const results = await Promise.all(Array.from({ length: 128 }, () => runCli(['token'], { env: env(home), timeoutMs: 180_000 })));
        await expectOneRefreshOneToken(results, before, 0);
        const after = await runCli(['refresh'], { env: env(home) });
        expect(after.code, after.stderr).toBe(0);
      } finally {
        for (const b of burners) b.kill('SIGKILL');
        await secretService.stop();
      }
    },
    300_000,
  );

  it('a process SIGKILLed while holding the refresh lock does not wedge the next one', async () => {
    const home = await loginHome('killed');
    const victim = spawn(process.execPath, [XTALK_BIN, 'refresh'], {
      env: { PATH: process.env.PATH, ...cliEnv(home), XTALK_TEST_FAULT_POINT: 'refresh-locked' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      victim.stderr.on('data', (d) => {
        stderr += d;
        if (stderr.includes('xtalk-fault-point:refresh-locked')) resolve();
      });
      victim.on('exit', () => reject(new Error(`exited before the fault point: ${stderr}`)));
    });
    // A reader of a valid token does not wait for the lock holder (WAL): one that did would wait for
    // the refresh (90 s) and be killed at this limit, which leaves a loaded machine room.
    const reader = await runCli(['token'], { env: cliEnv(home), timeoutMs: 60_000 });
    expect(reader.code, reader.stderr).toBe(0);

    const killed = new Promise((r) => victim.on('exit', r));
    victim.kill('SIGKILL');
    await killed;

    const next = await runCli(['refresh', '--json'], { env: cliEnv(home), timeoutMs: 60_000 });
    expect(next.code, next.stderr).toBe(0);
    const token = JSON.parse(next.stdout).access_token as string;
    expect((await provider.introspect(token)).active).toBe(true);
    const store = storeOf(home);
    expect(rawDb(store.dbPath).value('PRAGMA integrity_check')).toBe('ok');
    store.close();
  }, 180_000);
});
