/**
 * SIGKILL at random moments of `xtalk refresh` against a provider that rotates refresh tokens
 * strictly (reusing one revokes the grant), the kill timed from the moment the refresh grant
 * reaches the provider. After each kill, the provider tells whether the refresh token xtalk kept
 * is still good, i.e. whether the session lived.
 * Each kill is sorted by when it landed: before the provider answered (mid-exchange: the provider
 * rotates for a process that is gone — the one loss xtalk cannot prevent) or after the answer left
 * the provider (xtalk's own window: reading the answer and committing it). `npm run build` first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, fuzzSeed } from '../helpers/prng.js';
import { startTestProvider, type KoaMiddleware, type TestProvider } from '../provider/provider.js';
import { clientEnv } from './cli.js';
import { inspectStore, loginCli, spawnCli, type CliEnv } from './xtalk-process.js';

const KILLS = Number(process.env.XTALK_TEST_KILLS ?? 200);
/** Kills land this many ms (uniformly) after the grant reached the provider. */
const KILL_SPREAD_MS = 60;

/** The process to kill once its refresh grant arrives, and when; what happened, for the tally. */
let victim: { pid: number; delayMs: number; killedAt?: number; answeredAt?: number } | undefined;

const killer: KoaMiddleware = async (ctx, next) => {
  const target = victim;
  if (ctx.path !== '/token' || ctx.method !== 'POST' || !target || target.killedAt !== undefined) return next();
  setTimeout(() => {
    target.killedAt = performance.now();
    try {
      process.kill(target.pid, 'SIGKILL');
    } catch {
      // Already gone: it finished first.
    }
  }, target.delayMs);
  // The answer has left once Node handed all of it to the socket.
  (ctx as unknown as { res: { once(event: 'finish', fn: () => void): void } }).res.once('finish', () => (target.answeredAt = performance.now()));
  await next();
};

let provider: TestProvider;
let home: string;
beforeAll(async () => {
  provider = await startTestProvider({ rotateRefreshToken: true, accessTokenTtl: 600, middleware: [killer] });
  home = mkdtempSync(join(tmpdir(), 'xtalk-kill-'));
});
afterAll(async () => {
  await provider?.stop();
  rmSync(home, { recursive: true, force: true });
});

const SUB = 'kill-target';
const env = (): CliEnv => clientEnv(provider, home, { XTALK_CREDENTIAL_STORE: 'file' });

describe('SIGKILL during refresh against a strictly rotating provider', () => {
  it(`${KILLS} kills timed from the grant's arrival: a session is lost only when the kill lands before the answer leaves the provider, or within the few ms xtalk takes to commit the answer`, async () => {
    const rng = createRng(fuzzSeed());
    await loginCli(env(), SUB);
    const tally = { midExchange: 0, midExchangeLost: 0, afterAnswer: 0, afterAnswerLost: 0, finishedFirst: 0, lostWithoutKill: 0 };
    for (let i = 0; i < KILLS; i++) {
      const target = { pid: 0, delayMs: rng.next() * KILL_SPREAD_MS } as NonNullable<typeof victim>;
      const cli = spawnCli(['refresh'], env());
      target.pid = cli.pid;
      victim = target;
      const result = await cli.done;
      victim = undefined;
      // Alive when the refresh token xtalk kept is one the provider still honours.
      const kept = (await inspectStore(home, { decrypt: true })).refreshTokens[SUB];
      expect(kept, 'a refresh token is stored').toBeDefined();
      const lost = !(await provider.introspect(kept!)).active;
      if (result.signal !== 'SIGKILL') {
        tally.finishedFirst++;
        if (lost) tally.lostWithoutKill++;
      } else if (target.answeredAt === undefined || target.killedAt! < target.answeredAt) {
        tally.midExchange++;
        if (lost) tally.midExchangeLost++;
      } else {
        tally.afterAnswer++;
        if (lost) tally.afterAnswerLost++;
      }
      if (lost) await loginCli(env(), SUB);
    }
    console.info(`kill during refresh (seed ${rng.seed}): ${JSON.stringify(tally)}`);
    // A refresh that finished was never lost, and nothing but the exchange itself loses one.
    expect(tally.lostWithoutKill).toBe(0);
    expect(tally.finishedFirst + tally.midExchange + tally.afterAnswer).toBe(KILLS);
    // Enough kills landed after the answer left the provider to measure xtalk's own window …
    expect(tally.afterAnswer).toBeGreaterThan(KILLS / 4);
    // … which is the few ms of reading and committing the answer: most kills after it left the
    // provider find it stored (with a keys fetch and the checks before the commit, none did).
    expect(tally.afterAnswerLost / tally.afterAnswer).toBeLessThan(0.5);
  }, 900_000);
});
