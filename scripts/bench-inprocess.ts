// Rows of `npm run bench` (scripts/bench.ts) that time things other than a CLI start: the Node API
// in this process, and `xtalk login` from the browser's callback to its exit with a real Chromium.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const TARGET_API_TOKEN_US = 50;
export const TARGET_FETCH_OVERHEAD_MS = 0.2;
export const TARGET_CALLBACK_TO_EXIT_MS = 100;
const CALLS_PER_SAMPLE = 200;
const REQUESTS_PER_SAMPLE = 50;

export interface Row {
  name: string;
  median: number;
  p90: number;
  unit: 'µs' | 'ms';
  target: number;
}

interface NodeApi {
  getAccessToken(opts: { env: NodeJS.ProcessEnv; cwd: string }): Promise<string>;
  createFetch(opts: { env: NodeJS.ProcessEnv; cwd: string; allowedOrigins: string[] }): typeof fetch;
}

/** The built Node API next to `bin` (bin/xtalk.cjs → dist/index.js), so `--bin` times another build's too. */
async function loadApi(bin: string): Promise<NodeApi> {
  return (await import(pathToFileURL(join(dirname(bin), '..', 'dist', 'index.js')).href)) as NodeApi;
}

/**
 * getAccessToken per call with a valid token, after the first; and what createFetch adds per request
 * over plain fetch to an HTTP server on 127.0.0.1 (keep-alive, same process), both kinds in the
 * same rounds in shuffled order. The store must not have been written in the last 2 s (a store that
 * young is read again on every call: src/shared/file-stamp.ts).
 */
export async function benchNodeApi(bin: string, env: NodeJS.ProcessEnv, cwd: string, rounds: number): Promise<Row[]> {
  const api = await loadApi(bin);
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devices`;
  const opts = { env, cwd };
  const authorized = api.createFetch({ ...opts, allowedOrigins: [new URL(url).origin] });
  const request = async (send: typeof fetch) => {
    const res = await send(url);
    await res.text();
  };
  const per = async (n: number, fn: () => Promise<unknown>) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    return Number(process.hrtime.bigint() - start) / 1e6 / n;
  };
  try {
    const token = await api.getAccessToken(opts);
    const samples = { token: [] as number[], plain: [] as number[], fetch: [] as number[], overhead: [] as number[] };
    for (let round = -3; round < rounds; round++) {
      const got = await api.getAccessToken(opts);
      if (got !== token) throw new Error('getAccessToken returned another token during the bench (refreshed?)');
      const tokenMs = await per(CALLS_PER_SAMPLE, () => api.getAccessToken(opts));
      const plainFirst = Math.random() < 0.5;
      const plain = plainFirst ? await per(REQUESTS_PER_SAMPLE, () => request(fetch)) : NaN;
      const ours = await per(REQUESTS_PER_SAMPLE, () => request(authorized));
      const plainAfter = plainFirst ? plain : await per(REQUESTS_PER_SAMPLE, () => request(fetch));
      if (round < 0) continue;
      samples.token.push(tokenMs * 1000);
      samples.plain.push(plainAfter);
      samples.fetch.push(ours);
      samples.overhead.push(ours - plainAfter);
    }
    return [
      { name: 'getAccessToken() per call (valid token)', ...stats(samples.token), unit: 'µs', target: TARGET_API_TOKEN_US },
      { name: 'fetch per request (reference)', ...stats(samples.plain), unit: 'ms', target: NaN },
      { name: 'createFetch per request', ...stats(samples.fetch), unit: 'ms', target: NaN },
      { name: 'createFetch − fetch (same round)', ...stats(samples.overhead), unit: 'ms', target: TARGET_FETCH_OVERHEAD_MS },
    ];
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/**
 * `xtalk login` with headless Chromium (test/e2e/chromium-browser.mjs, playwright-core with
 * /usr/bin/chromium) as $BROWSER, in a fresh XTALK_HOME each round: from the moment the browser
 * asks for the loopback callback to the moment `xtalk login` has exited. Undefined (with the
 * reason) where Chromium is not installed.
 */
export async function benchChromiumLogin(
  bin: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  rounds: number,
): Promise<{ row: Row } | { problem: string }> {
  if (!existsSync('/usr/bin/chromium')) return { problem: '/usr/bin/chromium not found; apt-get install chromium' };
  // This checkout's driver (it has --callback-time), whichever build `bin` is.
  const browserScript = join(import.meta.dirname, '..', 'test', 'e2e', 'chromium-browser.mjs');
  const samples: number[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'xtalk-bench-login-'));
  try {
    for (let round = -1; round < rounds; round++) {
      const home = join(tmp, `home-${round + 1}`);
      const timeFile = join(tmp, `callback-${round + 1}`);
      const browser = `"${process.execPath}" "${browserScript}" --login bench-chromium --callback-time "${timeFile}"`;
      const exitedAt = await new Promise<bigint>((resolve, reject) => {
        const child = spawn(process.execPath, [bin, 'login'], {
          env: { ...env, XTALK_HOME: home, BROWSER: browser, XTALK_TIMEOUT: '60' },
          cwd,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.once('error', reject);
        child.once('exit', (code) => {
          const at = process.hrtime.bigint();
          if (code === 0) resolve(at);
          else reject(new Error(`xtalk login with Chromium exited ${code}:\n${stderr}`));
        });
      });
      const callbackAt = BigInt(readFileSync(timeFile, 'utf8').trim());
      if (round >= 0) samples.push(Number(exitedAt - callbackAt) / 1e6);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { row: { name: 'xtalk login, Chromium callback → exit', ...stats(samples), unit: 'ms', target: TARGET_CALLBACK_TO_EXIT_MS } };
}

function stats(values: number[]): { median: number; p90: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const pos = (sorted.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  };
  return { median: at(0.5), p90: at(0.9) };
}

/** The rows as a table, with the target and whether it was met (medians). */
export function formatRows(rows: Row[]): string[] {
  const width = Math.max(...rows.map((r) => r.name.length));
  return rows.map((r) => {
    const value = (v: number) => `${v.toFixed(r.unit === 'µs' ? 1 : 2)} ${r.unit}`;
    const target = Number.isNaN(r.target) ? '' : `  target ≤ ${r.target} ${r.unit}: ${r.median <= r.target ? 'met' : 'MISSED'}`;
    return `  ${r.name.padEnd(width)}  median ${value(r.median).padStart(10)}  p90 ${value(r.p90).padStart(10)}${target}`;
  });
}
