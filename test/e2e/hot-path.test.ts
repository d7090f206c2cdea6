import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { ROOT, runCli } from './cli.js';
import { importTrace, offlineSession, signedInSession } from './offline-session.js';

const DIST = join(ROOT, 'dist');
/** Text only commander (and so the CLI's parser) contains, and text only openid-client contains. */
const COMMANDER = 'showSuggestionAfterError';
const OPENID_CLIENT = 'enableNonRepudiationChecks';

function traced(file: string): { files: string[]; builtins: string[] } {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { files: [...new Set(lines.filter((l) => l.startsWith('file:')).map((u) => fileURLToPath(u)))], builtins: lines.filter((l) => l.startsWith('node:')) };
}

it('serves a valid token and whoami from dist/quick.cjs alone, with the provider down', async () => {
  const { env } = await offlineSession('hotpath');
  // The quick bundle holds neither openid-client nor commander; the full program's chunks do.
  const quick = readFileSync(join(DIST, 'quick.cjs'), 'utf8');
  const chunks = readdirSync(join(DIST, 'chunks')).map((f) => readFileSync(join(DIST, 'chunks', f), 'utf8'));
  for (const marker of [COMMANDER, OPENID_CLIENT]) {
    expect(chunks.some((text) => text.includes(marker)), marker).toBe(true);
    expect(quick.includes(marker), marker).toBe(false);
  }

  for (const args of [['token'], ['whoami', '--json']]) {
    const trace = importTrace();
    const res = await runCli(args, { env: { ...env, ...trace.env } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    if (args[0] === 'token') expect(res.stdout).toMatch(/^\S+\n$/);
    else expect(JSON.parse(res.stdout)).toMatchObject({ sub: 'hotpath' });
    const { files, builtins } = traced(trace.file);
    // bin/xtalk.cjs, the quick bundle and better-sqlite3's addon: no ES module of xtalk, nothing else from node_modules.
    expect(files.filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'))).toEqual([join(ROOT, 'bin', 'xtalk.cjs'), join(DIST, 'quick.cjs')]);
    expect(files.filter((f) => f.includes('/node_modules/'))).toEqual([expect.stringMatching(/\/better-sqlite3\/build\/Release\/better_sqlite3\.node$/)]);
    // Nor the built-ins only other commands need: child processes (exec, browser), node:tty
    // (color probing), node:module (require of ES modules); whoami does not decrypt, so no node:crypto.
    for (const unwanted of ['node:child_process', 'node:tty', 'node:module', ...(args[0] === 'whoami' ? ['node:crypto'] : [])]) {
      expect(builtins, unwanted).not.toContain(unwanted);
    }
  }
});

it('hands a token that must be refreshed over to the full program, which refreshes it once', async () => {
  const { env, provider } = await signedInSession('handover');
  try {
    const first = await runCli(['token'], { env });
    expect(first.code, first.stderr).toBe(0);
    const grants = provider.grants.length;
    const trace = importTrace();
    const res = await runCli(['token', '--min-ttl', '100000'], { env: { ...env, ...trace.env } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^\S+\n$/);
    expect(res.stdout).not.toBe(first.stdout);
    expect(provider.grants.slice(grants).map((g) => g.grantType)).toEqual(['refresh_token']);
    const { files } = traced(trace.file);
    expect(files).toContain(join(DIST, 'quick.cjs'));
    expect(files).toContain(join(DIST, 'main.js'));
    // What the full program stored is what the quick path serves next.
    const again = await runCli(['token'], { env });
    expect(again.stdout).toBe(res.stdout);
  } finally {
    await provider.stop();
  }
});
