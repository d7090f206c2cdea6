import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { clientEnv } from './cli.js';

const TRACER = fileURLToPath(new URL('./import-trace.mjs', import.meta.url));

/**
 * A session with a valid token (file store) whose provider is already stopped: whatever the child
 * then does, it cannot have reached the network. `env` is the child's environment.
 */
export async function offlineSession(login: string): Promise<{ env: Record<string, string | undefined> }> {
  const { env, provider } = await signedInSession(login);
  await provider.stop();
  return { env };
}

/** The same session with its provider still running; the caller stops it. */
export async function signedInSession(login: string): Promise<{ env: Record<string, string | undefined>; provider: TestProvider }> {
  const provider = await startTestProvider();
  // The test context picks its own XTALK_HOME.
  const { XTALK_HOME: _home, ...signInEnv } = clientEnv(provider, '', { XTALK_CREDENTIAL_STORE: 'file' });
  const ctx = createTestContext({ env: signInEnv, browser: (url) => signInWithHttp(url, { login }) });
  expect(await run(['login'], ctx)).toBe(0);
  await Promise.all(ctx.browserRuns);
  return { env: clientEnv(provider, ctx.home, { XTALK_CREDENTIAL_STORE: 'file' }), provider };
}

/** Environment additions that make a Node child record every module it loads into the returned file. */
export function importTrace(): { env: Record<string, string>; file: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'xtalk-trace-')), 'imports.txt');
  return { file, env: { XTALK_TRACE_IMPORTS: file, NODE_OPTIONS: `--import ${TRACER}` } };
}
