/**
 * SIGKILL at every named point inside login, refresh and logout, several times each, through the
 * built CLI. After every kill: `PRAGMA integrity_check` is ok, nothing half-written is visible, the
 * next command works or exits 4 with a reason, and the stored refresh token never goes back to an
 * older one. `npm run build` first.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { canStartSecretService, keychainCall, startPrivateSecretService } from '../integration/private-secret-service.js';
import { keychainAccount } from '../../src/store/keys/keychain-read.js';
import { inParallel, inspectStore, killAtFaultPoint, loginCli, runXtalk, type CliEnv } from './xtalk-process.js';
import { clientEnv } from './cli.js';

const KILLS_PER_POINT = 4;
/** Points run side by side, each in its own XTALK_HOME; two cores. */
const PARALLEL_POINTS = 3;

let provider: TestProvider;
const figures: Array<{ point: string; kills: number; ms: number }> = [];

beforeAll(async () => {
  provider = await startTestProvider({ rotateRefreshToken: true, accessTokenTtl: 600 });
});
afterAll(async () => {
  await provider?.stop();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
  if (figures.length > 0) {
    const kills = figures.reduce((n, f) => n + f.kills, 0);
    const lines = figures.map((f) => `  ${f.point.padEnd(40)} ${String(f.kills).padStart(2)} kills  ${(f.ms / 1000).toFixed(1)} s`);
    console.info(`crash consistency: ${figures.length} points, ${kills} SIGKILLs\n${lines.join('\n')}`);
  }
});

const homes: string[] = [];
function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'xtalk-crash-'));
  homes.push(home);
  return home;
}

function cliEnv(home: string, extra: CliEnv = {}): CliEnv {
  return clientEnv(provider, home, { XTALK_CREDENTIAL_STORE: 'file', ...extra });
}

async function isActive(token: string): Promise<boolean> {
  return (await provider.introspect(token)).active;
}

/** The stored refresh token of `sub` over time; it may stay or move forward, never back. */
class RefreshTokenHistory {
  readonly seen: string[] = [];
  observe(token: string | undefined, when: string): void {
    expect(token, `${when}: a refresh token is stored`).toBeDefined();
    const at = this.seen.indexOf(token!);
    expect(
      at === -1 || at === this.seen.length - 1,
      `${when}: the stored refresh token went back to #${at + 1} of ${this.seen.length}`,
    ).toBe(true);
    if (at === -1) this.seen.push(token!);
  }
}

async function expectSound(home: string, when: string) {
  const snapshot = await inspectStore(home, { decrypt: true });
  expect(snapshot.integrity, when).toBe('ok');
  expect(snapshot.foreignKeyViolations, when).toBe(0);
  return snapshot;
}

/** The next command after a crash either works or exits 4 with a reason and a hint; never anything else. */
function expectWorksOrLoginRequired(result: { code: number | null; stderr: string }, when: string): void {
  expect([0, 4], `${when}: exit ${result.code}\n${result.stderr}`).toContain(result.code);
  expect(result.stderr, when).not.toMatch(/Unexpected error|SQLITE_|database .*(locked|corrupt)|not an xtalk database/i);
  if (result.code === 4) expect(result.stderr, when).toMatch(/✗ .+\n\s+hint: .*xtalk login/);
}

async function timed(point: string, kills: () => Promise<number>): Promise<void> {
  const started = performance.now();
  const n = await kills();
  figures.push({ point, kills: n, ms: performance.now() - started });
}

describe('SIGKILL inside login', () => {
  // Points reached before the data key is recorded only happen on a store without one.
  const KEY_POINTS = ['login-key-file-staged', 'login-after-key-file-write'];
  const POINTS = ['login-token-response', ...KEY_POINTS, 'login-in-transaction'];

  it(`${POINTS.length} points × ${KILLS_PER_POINT} kills: nothing of the killed login is stored, an existing session is untouched, login works afterwards`, async () => {
    await inParallel(POINTS, PARALLEL_POINTS, (point) =>
      timed(point, async () => {
        const home = newHome();
        const env = cliEnv(home);
        const keyPoint = KEY_POINTS.includes(point);
        let sessionA: { rt: string; at: string } | undefined;
        for (let kill = 1; kill <= KILLS_PER_POINT; kill++) {
          const when = `${point} kill ${kill}`;
          if (!keyPoint && kill === 2) {
            // From the second kill on, a signed-in account A is there while B's login dies.
            await loginCli(env, `${point}-a`);
            const s = await inspectStore(home, { decrypt: true });
            sessionA = { rt: s.refreshTokens[`${point}-a`]!, at: s.accessTokens[`${point}-a`]!.at(-1)! };
          }
          const before = await expectSound(home, `${when} (before)`);
          await killAtFaultPoint(['login', '--no-browser'], env, point, { login: `${point}-b` });

          const after = await expectSound(home, when);
          // Nothing of B: no user row, no token, not current.
          expect(after.users, when).toEqual(before.users);
          expect(after.refreshTokens, when).toEqual(before.refreshTokens);
          expect(after.accessTokens, when).toEqual(before.accessTokens);
          expect(after.currentSub, when).toBe(before.currentSub);
          if (keyPoint) expect(after.credentialStore, `${when}: no key is recorded`).toBeNull();
          if (point === 'login-key-file-staged') expect(existsSync(join(home, 'xtalk.key')), `${when}: no key file in place`).toBe(false);
          if (point === 'login-after-key-file-write')
            expect(existsSync(join(home, 'xtalk.key')), `${when}: the complete key file`).toBe(true);

          const next = await runXtalk(['token'], env);
          expectWorksOrLoginRequired(next, when);
          if (sessionA) {
            expect(next.code, when).toBe(0);
            expect(next.stdout, when).toBe(`${sessionA.at}\n`);
            expect(await isActive(sessionA.rt), `${when}: A's refresh token`).toBe(true);
          } else {
            expect(next.code, when).toBe(4);
            expect(next.stderr, when).toMatch(/You are not logged in/);
          }
        }
        await loginCli(env, `${point}-b`);
        const whoami = await runXtalk(['whoami', '--json'], env);
        expect(whoami.code, whoami.stderr).toBe(0);
        expect(JSON.parse(whoami.stdout)).toMatchObject({ sub: `${point}-b`, credential_store: 'file' });
        const token = await runXtalk(['token'], env);
        expect(token.code, token.stderr).toBe(0);
        expect(await isActive(token.stdout.trim())).toBe(true);
        return KILLS_PER_POINT;
      }),
    );
  }, 180_000);

  it(`a key file deleted behind xtalk's back, then login-after-key-file-write × ${KILLS_PER_POINT}: the unreadable tokens stay forgotten`, async () => {
    await timed('login-after-key-file-write (key lost)', async () => {
      const home = newHome();
      const env = cliEnv(home);
      await loginCli(env, 'lost-key');
      await loginCli(env, 'lost-key-other');
      rmSync(join(home, 'xtalk.key'));
      for (let kill = 1; kill <= KILLS_PER_POINT; kill++) {
        const when = `lost key, kill ${kill}`;
        await killAtFaultPoint(['login', '--no-browser'], env, 'login-after-key-file-write', { login: 'lost-key' });
        const after = await expectSound(home, when);
        // The rows the lost key protected are gone for good, not restored next to a key that cannot open them.
        expect(after.refreshTokenRows + after.accessTokenRows, when).toBe(0);
        for (const args of [['token'], ['token', '--account', 'lost-key-other'], ['refresh']]) {
          const next = await runXtalk(args, env);
          expectWorksOrLoginRequired(next, `${when}: ${args.join(' ')}`);
          expect(next.code, `${when}: ${args.join(' ')}`).toBe(4);
        }
      }
      await loginCli(env, 'lost-key');
      const token = await runXtalk(['token'], env);
      expect(token.code, token.stderr).toBe(0);
      return KILLS_PER_POINT;
    });
  }, 120_000);

  it.runIf(canStartSecretService || process.env.CI)(
    `login-after-keychain-write × ${KILLS_PER_POINT} (real Secret Service): the orphan key is replaced, nothing is stored`,
    async () => {
      const secretService = await startPrivateSecretService();
      try {
        await timed('login-after-keychain-write', async () => {
          const home = newHome();
          const env = cliEnv(home, { XTALK_CREDENTIAL_STORE: 'keychain', DBUS_SESSION_BUS_ADDRESS: secretService.address });
          const account = keychainAccount(join(home, 'xtalk.db'));
          for (let kill = 1; kill <= KILLS_PER_POINT; kill++) {
            const when = `login-after-keychain-write kill ${kill}`;
            await killAtFaultPoint(['login', '--no-browser'], env, 'login-after-keychain-write', { login: 'keychain-crash' });
            const after = await expectSound(home, when);
            expect(after.users, when).toEqual([]);
            expect(after.refreshTokenRows + after.accessTokenRows, when).toBe(0);
            expect(after.credentialStore, when).toBeNull();
            expect(keychainCall(secretService.address, 'get', account), `${when}: the key reached the keychain`).toEqual(
              expect.any(String),
            );
            expect(existsSync(join(home, 'xtalk.key')), `${when}: no key file`).toBe(false);
            const next = await runXtalk(['token'], env);
            expectWorksOrLoginRequired(next, when);
            expect(next.code).toBe(4);
          }
          await loginCli(env, 'keychain-crash');
          const token = await runXtalk(['token', '--json'], env);
          expect(token.code, token.stderr).toBe(0);
          const status = await runXtalk(['status', '--json'], env);
          expect(JSON.parse(status.stdout)[0]).toMatchObject({ sub: 'keychain-crash', credential_store: 'keychain' });

          // The entry deleted behind xtalk's back, then the login that replaces it killed.
          expect(keychainCall(secretService.address, 'delete', account)).toBe(true);
          await killAtFaultPoint(['login', '--no-browser'], env, 'login-after-keychain-write', { login: 'keychain-crash' });
          const after = await expectSound(home, 'lost keychain key, kill');
          expect(after.refreshTokenRows + after.accessTokenRows, 'the unreadable tokens stay forgotten').toBe(0);
          const next = await runXtalk(['token'], env);
          expectWorksOrLoginRequired(next, 'lost keychain key, kill: token');
          expect(next.code).toBe(4);
          await loginCli(env, 'keychain-crash');
          expect((await runXtalk(['token'], env)).code).toBe(0);
          return KILLS_PER_POINT + 1;
        });
      } finally {
        await secretService.stop();
      }
    },
    120_000,
  );
});

describe('SIGKILL inside refresh', () => {
  // Before the provider answers, the old refresh token is still good and stays stored. The answer is
  // committed the moment it arrives, before anything else runs (no point of its own can stop a
  // process in between: the few ms there are measured by kill-during-refresh.test.ts), so at every
  // later point the rotated refresh token and the new access token are stored.
  const BEFORE_PROVIDER = ['refresh-locked'];
  const POINTS = [...BEFORE_PROVIDER, 'refresh-answer-committed', 'refresh-response', 'refresh-saved', 'refresh-committed'];

  it(`${POINTS.length} points × ${KILLS_PER_POINT} kills: the stored refresh token never goes back, and after the provider answered it is the rotated one; the next refresh works`, async () => {
    await inParallel(POINTS, PARALLEL_POINTS, (point) =>
      timed(point, async () => {
        const home = newHome();
        const env = cliEnv(home);
        const sub = `${point}-user`;
        const history = new RefreshTokenHistory();
        await loginCli(env, sub);
        history.observe((await inspectStore(home, { decrypt: true })).refreshTokens[sub], `${point} login`);
        for (let kill = 1; kill <= KILLS_PER_POINT; kill++) {
          const when = `${point} kill ${kill}`;
          const before = await expectSound(home, `${when} (before)`);
          const rtBefore = before.refreshTokens[sub]!;
          await killAtFaultPoint(['refresh'], env, point);

          const after = await expectSound(home, when);
          const rtAfter = after.refreshTokens[sub];
          history.observe(rtAfter, when);
          if (BEFORE_PROVIDER.includes(point)) {
            // Rolled back: exactly what was there before, and the provider still honours it.
            expect(rtAfter, when).toBe(rtBefore);
            expect(after.accessTokens, when).toEqual(before.accessTokens);
            expect(await isActive(rtBefore), `${when}: the provider still honours the stored token`).toBe(true);
          } else {
            expect(rtAfter, `${when}: the rotated token is stored`).not.toBe(rtBefore);
            expect(await isActive(rtAfter!), when).toBe(true);
            expect(after.accessTokens[sub]!.length, when).toBe(before.accessTokens[sub]!.length + 1);
          }

          // A still-valid access token is served from the store either way.
          const token = await runXtalk(['token'], env);
          expectWorksOrLoginRequired(token, `${when}: token`);
          expect(token.code, `${when}: token`).toBe(0);

          const refresh = await runXtalk(['refresh', '--json'], env);
          expectWorksOrLoginRequired(refresh, `${when}: refresh`);
          const settled = await expectSound(home, `${when}: after refresh`);
          expect(refresh.code, `${when}: refresh\n${refresh.stderr}`).toBe(0);
          expect(await isActive(JSON.parse(refresh.stdout).access_token)).toBe(true);
          expect(await isActive(settled.refreshTokens[sub]!)).toBe(true);
          history.observe((await inspectStore(home, { decrypt: true })).refreshTokens[sub], `${when}: after recovery`);
        }
        return KILLS_PER_POINT;
      }),
    );
  }, 180_000);
});

describe('SIGKILL inside logout', () => {
  // Until the delete commits every token stays stored (logout deletes nothing unless all were
  // revoked), so a retry finishes the job; after it, only the data key's record may be left.
  const POINTS = [
    'logout-revoked-refresh_token',
    'logout-revoked-access_token',
    'logout-before-delete',
    'logout-in-transaction',
    'logout-key-deleted',
  ];

  it(`${POINTS.length} points × ${KILLS_PER_POINT} kills: tokens kept until the delete commits, a retry finishes, login works again`, async () => {
    await inParallel(POINTS, PARALLEL_POINTS, (point) =>
      timed(point, async () => {
        const home = newHome();
        const env = cliEnv(home);
        const sub = `${point}-user`;
        for (let kill = 1; kill <= KILLS_PER_POINT; kill++) {
          const when = `${point} kill ${kill}`;
          await loginCli(env, sub);
          // A second access token, so 'logout-revoked-access_token' falls between two revocations.
          const refresh = await runXtalk(['refresh'], env);
          expect(refresh.code, refresh.stderr).toBe(0);
          const before = await expectSound(home, `${when} (before)`);
          expect(before.accessTokens[sub]).toHaveLength(2);
          await killAtFaultPoint(['logout'], env, point);

          const after = await expectSound(home, when);
          const tokens = [before.refreshTokens[sub]!, ...before.accessTokens[sub]!];
          if (point === 'logout-key-deleted') {
            expect(after.refreshTokenRows + after.accessTokenRows, when).toBe(0);
            expect(existsSync(join(home, 'xtalk.key')), `${when}: key file removed`).toBe(false);
            for (const t of tokens) expect(await isActive(t), `${when}: revoked`).toBe(false);
          } else {
            expect(after.refreshTokens, `${when}: nothing deleted`).toEqual(before.refreshTokens);
            expect(after.accessTokens, `${when}: nothing deleted`).toEqual(before.accessTokens);
            expect(after.currentSub).toBe(sub);
            if (point === 'logout-revoked-refresh_token' || point === 'logout-revoked-access_token') {
              expect(await isActive(before.refreshTokens[sub]!), `${when}: the refresh token was revoked`).toBe(false);
            }
            const token = await runXtalk(['token'], env);
            expectWorksOrLoginRequired(token, `${when}: token`);
            const retry = await runXtalk(['logout'], env);
            expect(retry.code, `${when}: logout again\n${retry.stderr}`).toBe(0);
            const done = await expectSound(home, `${when}: after the retry`);
            expect(done.refreshTokenRows + done.accessTokenRows).toBe(0);
            for (const t of tokens) expect(await isActive(t), `${when}: revoked`).toBe(false);
          }
          const next = await runXtalk(['token'], env);
          expectWorksOrLoginRequired(next, `${when}: token after logout`);
          expect(next.code).toBe(4);
        }
        await loginCli(env, sub);
        const token = await runXtalk(['token'], env);
        expect(token.code, token.stderr).toBe(0);
        expect(await isActive(token.stdout.trim())).toBe(true);
        return KILLS_PER_POINT;
      }),
    );
  }, 240_000);
});
