import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider } from '../provider/provider.js';
import { ROOT, runCli } from './cli.js';

const TRACER = fileURLToPath(new URL('./import-trace.mjs', import.meta.url));

it('serves a valid token with the provider down and without loading openid-client', async () => {
  const provider = await startTestProvider();
  const env = {
    XTALK_CREDENTIAL_STORE: 'file',
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  };
  const ctx = createTestContext({ env, browser: (url) => signInWithHttp(url, { login: 'hotpath' }) });
  expect(await run(['login'], ctx)).toBe(0);
  await Promise.all(ctx.browserRuns);
  await provider.stop();

  const trace = join(mkdtempSync(join(tmpdir(), 'xtalk-trace-')), 'imports.txt');
  const res = await runCli(['token'], {
    env: { ...env, XTALK_HOME: ctx.home, XTALK_TRACE_IMPORTS: trace, NODE_OPTIONS: `--import ${TRACER}` },
  });
  expect(res.code, res.stderr).toBe(0);
  expect(res.stdout).toMatch(/^\S+\n$/);
  const loaded = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
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
