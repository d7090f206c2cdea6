import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';
import { waitFor } from '../helpers/wait-for.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

let provider: TestProvider;
let home: string;
const env = () => ({
  XTALK_ISSUER: provider.issuer,
  XTALK_CLIENT_ID: provider.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
});

beforeAll(async () => {
  provider = await startTestProvider();
  const ctx = createTestContext({ env: env(), browser: (url) => signInWithHttp(url, { login: 'exec-user' }) });
  expect(await run(['login'], ctx)).toBe(0);
  await Promise.all(ctx.browserRuns);
  home = ctx.home;
});
afterAll(async () => {
  await provider?.stop();
});

async function token(): Promise<string> {
  const ctx = createTestContext({ env: env(), home });
  expect(await run(['token'], ctx)).toBe(0);
  return ctx.stdout.text.trim();
}

const node = (script: string, extra: string[] = []) => ['exec', ...extra, '--', process.execPath, '-e', script];

describe('xtalk exec', () => {
  it('passes the token in the environment, never in argv, and returns the exit code', async () => {
    const expected = await token();
    const script = `const t = process.env.XTALK_ACCESS_TOKEN;
      if (process.argv.some((a) => a.includes(t))) process.exit(90);
      process.exit(t === ${JSON.stringify(expected)} ? 7 : 91);`;
    const ctx = createTestContext({ env: env(), home });
    expect(await run(node(script), ctx)).toBe(7);
    expect(ctx.stderr.text).toBe('');
  });

  it("gives the command none of xtalk's secrets: `xtalk exec -- env` shows the token only", async () => {
    const expected = await token();
    const res = await runCli(['exec', '--', 'env'], {
      env: {
        ...env(),
        XTALK_HOME: home,
        XTALK_CREDENTIAL_STORE: 'file',
        OAUTH2_CLIENT_SECRET: 'dotenv-style-secret',
        XTALK_ACCESS_TOKEN: 'a-parent-exec-token',
        XTALK_REFRESH_TOKEN: 'looks-secret',
        XTALK_TOKEN_AUTH_METHOD: 'client_secret_basic',
        GITHUB_TOKEN: 'the-users-own-token',
      },
    });
    expect(res.code, res.stderr).toBe(0);
    const names = new Map(
      res.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(res.stdout).not.toContain(provider.confidentialClient.clientSecret);
    expect([...names.keys()].filter((n) => /^(XTALK|OAUTH2)_/.test(n)).sort()).toEqual(
      ['XTALK_ACCESS_TOKEN', 'XTALK_CREDENTIAL_STORE', 'XTALK_HOME', 'XTALK_ISSUER', 'XTALK_CLIENT_ID', 'XTALK_TOKEN_AUTH_METHOD'].sort(),
    );
    expect(names.get('XTALK_ACCESS_TOKEN')).toBe(expected);
    // Not xtalk's to take away: the user's own credentials for the command.
    expect(names.get('GITHUB_TOKEN')).toBe('the-users-own-token');
  });

  it('uses --env for the variable name', async () => {
    const ctx = createTestContext({ env: env(), home });
    expect(
      await run(
        node('process.exit(process.env.IOTTALK_TOKEN && !process.env.XTALK_ACCESS_TOKEN ? 0 : 3)', ['--env', 'IOTTALK_TOKEN']),
        ctx,
      ),
    ).toBe(0);
    expect(await run(node('0', ['--env', 'BAD-NAME']), createTestContext({ env: env(), home }))).toBe(2);
  });

  it('reports a signal that ends the command as 128+N, and passes a signal to xtalk on to it', async () => {
    const ctx = createTestContext({ env: env(), home });
    expect(await run(node("process.kill(process.pid, 'SIGTERM')"), ctx)).toBe(143);

    const controller = new AbortController();
    const waiting = createTestContext({ env: env(), home, signal: controller.signal });
    // The command says when its handler is in place (a file appears); only then is xtalk interrupted.
    const ready = join(mkdtempSync(join(tmpdir(), 'xtalk-exec-')), 'ready');
    const done = run(
      node(
        `process.on('SIGINT', () => process.exit(42)); require('node:fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`,
      ),
      waiting,
    );
    await waitFor(() => existsSync(ready), 60_000);
    controller.abort('SIGINT');
    expect(await done).toBe(42);
  });

  it('exits 127 for an unknown command and 4 without a session', async () => {
    const ctx = createTestContext({ env: env(), home });
    expect(await run(['exec', '--', 'xtalk-no-such-command'], ctx)).toBe(127);
    expect(ctx.stderr.text).toContain('command not found');
    const anonymous = createTestContext({ env: env() });
    expect(await run(node('process.exit(0)'), anonymous)).toBe(4);
  });
});
