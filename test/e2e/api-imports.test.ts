import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { ROOT } from './cli.js';
import { importTrace, offlineSession } from './offline-session.js';

const exec = promisify(execFile);
const API_CALLER = fileURLToPath(new URL('./api-caller.mjs', import.meta.url));
const DIST = join(ROOT, 'dist');
/** Text only commander (and so the CLI's parser) contains, and text only openid-client contains. */
const COMMANDER = 'showSuggestionAfterError';
const OPENID_CLIENT = 'enableNonRepudiationChecks';

it('the Node API loads neither commander nor the CLI, and no openid-client for a valid token', { timeout: 60_000 }, async () => {
  const { env } = await offlineSession('api-imports');
  const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };

  // ESM: every module the process loads, recorded by a loader hook.
  const trace = importTrace();
  const esm = await exec(process.execPath, [API_CALLER, 'esm'], { env: { ...childEnv, ...trace.env } });
  expect(esm.stdout).toMatch(/^\S+\n$/);
  const loaded = readFileSync(trace.file, 'utf8').split('\n').filter(Boolean);
  expect(loaded.some((u) => u.endsWith('/dist/index.js'))).toBe(true);
  expect(loaded.filter((u) => /\/dist\/(main|quick|quick-net)\.cjs$/.test(u))).toEqual([]);
  expect(loaded.filter((u) => /node_modules\/(commander|openid-client|oauth4webapi|jose)\//.test(u))).toEqual([]);
  for (const marker of [COMMANDER, OPENID_CLIENT]) {
    const files = [
      join(DIST, 'main.cjs'),
      join(DIST, 'index.js'),
      ...readdirSync(join(DIST, 'chunks')).map((f) => join(DIST, 'chunks', f)),
    ];
    const holding = files.filter((f) => readFileSync(f, 'utf8').includes(marker));
    expect(holding.length, marker).toBeGreaterThan(0);
    for (const file of holding)
      expect(
        loaded.filter((u) => u.startsWith('file:') && fileURLToPath(u) === file),
        marker,
      ).toEqual([]);
  }

  // CommonJS: one bundle; commander is not in it, and nothing loaded from node_modules is.
  expect(readFileSync(join(DIST, 'index.cjs'), 'utf8')).not.toContain(COMMANDER);
  const script = `require(${JSON.stringify(join(DIST, 'index.cjs'))}).getAccessToken().then((t) => console.log(JSON.stringify({ ok: t.length > 0, loaded: Object.keys(require.cache) })))`;
  const cjs = await exec(process.execPath, ['-e', script], { env: childEnv });
  const { ok, loaded: required } = JSON.parse(cjs.stdout) as { ok: boolean; loaded: string[] };
  expect(ok).toBe(true);
  expect(
    required.filter((f) => /node_modules\/(commander|openid-client)\//.test(f) || /dist\/(main|quick|quick-net)\.cjs$/.test(f)),
  ).toEqual([]);
});
