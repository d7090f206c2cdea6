import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider();
});
afterAll(async () => {
  await provider?.stop();
});

async function xtalk(args: string[], opts: { home: string; cwd: string; env?: Record<string, string> }) {
  const ctx = createTestContext({
    home: opts.home,
    cwd: opts.cwd,
    env: opts.env,
    browser: (url) => signInWithHttp(url, { login: 'dora' }),
  });
  const code = await run(args, ctx);
  await Promise.all(ctx.browserRuns);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text };
}

describe('settings from ./.env are announced', () => {
  it('every command names the .env file and the names taken from it, on stderr only; shell completion stays quiet', async () => {
    const home = mkdtempSync(join(tmpdir(), 'xtalk-home-'));
    const repo = mkdtempSync(join(tmpdir(), 'xtalk-repo-'));
    const dotenv = join(repo, '.env');
    writeFileSync(
      dotenv,
      `OIDC_DISCOVERY_ENDPOINT=${provider.issuer}/.well-known/openid-configuration\n` +
        `OAUTH2_CLIENT_ID=${provider.confidentialClient.clientId}\nOAUTH2_CLIENT_SECRET=${provider.confidentialClient.clientSecret}\n`,
    );
    const line = `Using OIDC_DISCOVERY_ENDPOINT, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET from ${dotenv}`;
    for (const args of [['login'], ['doctor'], ['status'], ['whoami'], ['token'], ['refresh'], ['logout']]) {
      const r = await xtalk(args, { home, cwd: repo });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr, args[0]).toContain(line);
      expect(r.stdout).not.toContain(line);
    }
    const completion = await xtalk(['__complete', 'accounts'], { home, cwd: repo });
    expect(completion.stderr).toBe('');
    // Only what the file actually decided is named: the environment wins for the client id.
    const r = await xtalk(['doctor'], { home, cwd: repo, env: { XTALK_CLIENT_ID: provider.publicClient.clientId } });
    expect(r.stderr).toContain(
      `Using OIDC_DISCOVERY_ENDPOINT, OAUTH2_CLIENT_SECRET from ${dotenv} (a .env file in the current folder). Not using from it: OAUTH2_CLIENT_ID (the environment gives it).`,
    );
  });

  it("says nothing when the .env names nothing of xtalk's (another program's file)", async () => {
    const home = mkdtempSync(join(tmpdir(), 'xtalk-home-'));
    const env = { XTALK_ISSUER: provider.issuer, XTALK_CLIENT_ID: provider.publicClient.clientId };
    const cwd = mkdtempSync(join(tmpdir(), 'xtalk-repo-'));
    writeFileSync(join(cwd, '.env'), 'UNRELATED=1\nSECRET_KEY=django\n');
    for (const args of [['login'], ['doctor'], ['status'], ['logout']]) {
      const r = await xtalk(args, { home, cwd, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('.env');
    }
  });
});
