import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, runCli } from './cli.js';
import { importTrace, offlineSession } from './offline-session.js';

it('serves a valid token with the provider down and without loading openid-client', async () => {
  const { env } = await offlineSession('hotpath');
  const trace = importTrace();
  const res = await runCli(['token'], { env: { ...env, ...trace.env } });
  expect(res.code, res.stderr).toBe(0);
  expect(res.stdout).toMatch(/^\S+\n$/);
  const loaded = readFileSync(trace.file, 'utf8').split('\n').filter(Boolean);
  expect(loaded.some((u) => u.endsWith('/dist/main.js'))).toBe(true);

  const chunks = join(ROOT, 'dist', 'chunks');
  const chunksWith = (marker: string) => readdirSync(chunks).filter((f) => readFileSync(join(chunks, f), 'utf8').includes(marker));
  // openid-client, and commander with the other commands, stay in chunks the fast path never loads
  for (const marker of ['enableNonRepudiationChecks', 'showSuggestionAfterError']) {
    const unwanted = chunksWith(marker);
    expect(unwanted.length, marker).toBeGreaterThan(0);
    for (const chunk of unwanted) expect(loaded.filter((u) => u.endsWith(`/${chunk}`))).toEqual([]);
  }
  expect(loaded.filter((u) => /openid-client|oauth4webapi|jose/.test(u))).toEqual([]);
});
