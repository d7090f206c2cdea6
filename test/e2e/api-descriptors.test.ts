import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, runProgram } from './cli.js';
import { offlineSession } from './offline-session.js';

const BURST = fileURLToPath(new URL('./api-burst.mjs', import.meta.url));

/** Runs api-burst.mjs with at most 1,024 open files; resolves once the process has ended by itself. */
function runUnderUlimit(args: string[], env: Record<string, string | undefined>) {
  // The timeout is only against a hang: a program that does not end by itself fails here.
  return runProgram('bash', ['-c', 'ulimit -n 1024 && exec "$0" "$@"', process.execPath, BURST, ...args], { env, timeoutMs: 50_000 });
}

let env: Record<string, string | undefined>;
let cliToken: string;
beforeAll(async () => {
  // A valid token and no provider: nothing here may need the network.
  ({ env } = await offlineSession('descriptors'));
  const token = await runCli(['token'], { env });
  expect(token.code, token.stderr).toBe(0);
  cliToken = token.stdout.trim();
});

describe('the Node API under descriptor pressure (ulimit -n 1024)', () => {
  it('1,000 concurrent getAccessToken() calls all get the stored token, and the program ends with no store file left open', async () => {
    const run = await runUnderUlimit(['burst', '1000'], env);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      ok: number;
      tokens: string[];
      errors: unknown[];
      failed: number;
      storeDescriptors: string[];
    };
    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(1000);
    expect(result.tokens).toEqual([cliToken]);
    expect(result.storeDescriptors).toEqual([]);
  });

  it('with every descriptor taken, getAccessToken() rejects with the typed TOO_MANY_OPEN_FILES error, and works again once they are free', async () => {
    const run = await runUnderUlimit(['emfile'], env);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      held: number;
      starved: Record<string, unknown>;
      after: Record<string, unknown>;
      storeDescriptors: string[];
    };
    expect(result.held).toBeGreaterThan(900);
    expect(result.starved).toMatchObject({ xtalk: true, code: 'TOO_MANY_OPEN_FILES', name: 'XtalkError' });
    expect(result.starved.message).toMatch(/^Too many open files: this process has reached its limit \(EMFILE\)/);
    expect(result.starved.hint).toMatch(/ulimit -n/);
    expect(result.after).toEqual({ token: cliToken });
    expect(result.storeDescriptors).toEqual([]);
  });
});
