/**
 * 32 processes of the built CLI, each running a fixed number of random `token` / `refresh` /
 * `whoami` / `status` one after another against one store: every run exits 0, nothing about SQLite
 * locking reaches a user, and the provider never sees a refresh token reused. The `refresh` runs
 * (forced refreshes, a quarter of them) collide with each other and with every reader. A number of
 * runs rather than a duration, and hour-long tokens, so a loaded machine makes it slower, not
 * different: no caller finds a token that expired while it waited. `npm run build` first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { inspectStore, loginCli, runXtalk, type CliEnv } from './xtalk-process.js';

const PROCESSES = 32;
/** Runs each process makes, one after another. */
const RUNS_EACH = 4;
const COMMANDS: ReadonlyArray<{ args: string[]; weight: number }> = [
  { args: ['token'], weight: 4 },
  { args: ['token', '--json'], weight: 1 },
  { args: ['refresh'], weight: 2 },
  { args: ['refresh', '--json'], weight: 1 },
  { args: ['whoami'], weight: 1 },
  { args: ['whoami', '--json'], weight: 1 },
  { args: ['status'], weight: 1 },
  { args: ['status', '--json'], weight: 1 },
];
const TOTAL_WEIGHT = COMMANDS.reduce((n, c) => n + c.weight, 0);

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider({ accessTokenTtl: 3600, rotateRefreshToken: true });
});
afterAll(async () => {
  await provider?.stop();
});

function pick(): string[] {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const c of COMMANDS) {
    r -= c.weight;
    if (r < 0) return c.args;
  }
  return COMMANDS[0]!.args;
}

interface Run {
  command: string;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

it(`${PROCESSES} processes × ${RUNS_EACH} random token/refresh/whoami/status on one store: every run exits 0`, async () => {
  const home = mkdtempSync(join(tmpdir(), 'xtalk-load-'));
  const env: CliEnv = {
    XTALK_HOME: home,
    XTALK_CREDENTIAL_STORE: 'file',
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  };
  await loginCli(env, 'load-user');
  const grantsBefore = provider.grants.length;

  const runs: Run[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PROCESSES }, async () => {
      for (let i = 0; i < RUNS_EACH; i++) {
        const args = pick();
        // A limit only for a run that hangs: on a loaded machine one run may take a minute.
        const r = await runXtalk(args, env, 300_000);
        runs.push({ command: args.join(' '), code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: r.ms });
      }
    }),
  );
  const elapsed = performance.now() - started;

  const failures = runs.filter((r) => r.code !== 0 || /SQLITE|locked|busy|Unexpected error|please report/i.test(r.stderr));
  const byCommand = new Map<string, { n: number; ms: number[] }>();
  for (const r of runs) {
    const entry = byCommand.get(r.command) ?? { n: 0, ms: [] };
    entry.n++;
    entry.ms.push(r.ms);
    byCommand.set(r.command, entry);
  }
  const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
  const grants = provider.grants.slice(grantsBefore);
  console.info(
    `load: ${PROCESSES} processes, ${(elapsed / 1000).toFixed(1)} s, ${runs.length} runs (${(runs.length / (elapsed / 1000)).toFixed(1)}/s), ` +
      `${grants.filter((g) => g.grantType === 'refresh_token').length} refresh grants, ${failures.length} failures\n` +
      [...byCommand]
        .map(
          ([c, e]) =>
            `  ${c.padEnd(14)} ${String(e.n).padStart(4)} runs  median ${quantile(e.ms, 0.5).toFixed(0)} ms  p95 ${quantile(e.ms, 0.95).toFixed(0)} ms  max ${Math.max(...e.ms).toFixed(0)} ms`,
        )
        .join('\n'),
  );

  expect(
    failures.slice(0, 5).map((r) => `${r.command}: exit ${r.code ?? r.signal} after ${r.ms.toFixed(0)} ms\n${r.stderr}`),
    `${failures.length} of ${runs.length} runs failed`,
  ).toEqual([]);
  expect(runs.length).toBe(PROCESSES * RUNS_EACH);
  expect(runs.filter((r) => r.command.startsWith('refresh')).length).toBeGreaterThan(1);
  for (const r of runs.filter((x) => x.command === 'token')) expect(r.stdout).toMatch(/^\S+\n$/);
  // Single flight held: no refresh token was ever presented twice (the provider would have revoked the grant).
  expect(provider.grantErrors.slice(0)).toEqual([]);

  const store = await inspectStore(home, { decrypt: true });
  expect(store.integrity).toBe('ok');
  expect(store.refreshTokenRows).toBe(1);
  expect((await provider.introspect(store.refreshTokens['load-user']!)).active).toBe(true);
  const final = await runXtalk(['token'], env);
  expect(final.code, final.stderr).toBe(0);
  expect((await provider.introspect(final.stdout.trim())).active).toBe(true);
  rmSync(home, { recursive: true, force: true });
}, 900_000);
