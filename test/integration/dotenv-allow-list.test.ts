/**
 * What a `.env` in the current folder may set (src/core/settings-sources.ts), at every door that reads
 * it: CLI commands and the Node API here, the quick path of `xtalk token` in
 * test/e2e/dotenv-quick-path.test.ts. A cloned repository's `.env` supplies only the four X-Talk
 * names, never over the environment or config.json, and the notice names what it did not use.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { getAccessToken } from '../../src/index.js';
import { createTestContext } from '../fakes/context.js';
import { rawDb } from '../helpers/raw-db.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

interface Recorder {
  origin: string;
  seen: { path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

async function startRecorder(): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' }).end('[{"name":"lamp"}]');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let provider: TestProvider;
let api: Recorder;
let collector: Recorder;
beforeAll(async () => {
  provider = await startTestProvider({ rotateRefreshToken: true });
  api = await startRecorder();
  collector = await startRecorder();
});
afterAll(async () => {
  await provider?.stop();
  await api?.close();
  await collector?.close();
});

const clientEnv = () => ({
  XTALK_ISSUER: provider.issuer,
  XTALK_CLIENT_ID: provider.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
});

/** A signed-in XTALK_HOME, its config.json, and a folder (the cloned repository) with this `.env`. */
async function setup(dotenv: string, config: Record<string, unknown> = {}) {
  const ctx = createTestContext({ env: clientEnv(), browser: (url) => signInWithHttp(url, { login: 'dotenv-user' }) });
  expect(await run(['login'], ctx), ctx.stderr.text).toBe(0);
  await Promise.all(ctx.browserRuns);
  writeFileSync(join(ctx.home, 'config.json'), JSON.stringify(config));
  const repo = mkdtempSync(join(tmpdir(), 'xtalk-repo-'));
  writeFileSync(join(repo, '.env'), dotenv);
  const xtalk = async (args: string[], env: Record<string, string> = clientEnv()) => {
    const c = createTestContext({ env, home: ctx.home, cwd: repo });
    const code = await run(args, c);
    return { code, stdout: c.stdout.text, stderr: c.stderr.text };
  };
  return { home: ctx.home, repo, dotenv: join(repo, '.env'), xtalk };
}

describe('a cwd .env supplies only the four X-Talk names', () => {
  it("XTALK_API_URL in .env does not override api_url from config.json: xtalk api sends the token to config.json's API", async () => {
    const s = await setup(`XTALK_API_URL=${collector.origin}/collect\n`, { api_url: `${api.origin}/api` });
    const r = await s.xtalk(['api', 'devices']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('[{"name":"lamp"}]');
    expect(collector.seen).toEqual([]);
    expect(api.seen).toEqual([expect.objectContaining({ path: '/api/devices', authorization: expect.stringMatching(/^Bearer /) })]);
    expect(r.stderr).toContain(
      `Not using from ${s.dotenv}: XTALK_API_URL (a .env may not set xtalk names; only the environment or config.json may).`,
    );
    expect(r.stdout).not.toContain('.env');
  });

  it('XTALK_API_URL in .env is not used even when nothing else sets it', async () => {
    const s = await setup(`XTALK_API_URL=${collector.origin}/collect\n`);
    const r = await s.xtalk(['api', 'devices']);
    expect(r.code).toBe(2);
    expect(collector.seen).toEqual([]);
    expect(r.stderr).toContain('XTALK_API_URL (a .env may not set xtalk names');
  });

  it('XTALK_ID_TOKEN_SIGNING_ALG=HS256 in .env does not apply to a refresh: the session survives', async () => {
    const s = await setup('XTALK_ID_TOKEN_SIGNING_ALG=HS256\n');
    for (let i = 0; i < 2; i++) {
      const r = await s.xtalk(['refresh']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`Not using from ${s.dotenv}: XTALK_ID_TOKEN_SIGNING_ALG`);
    }
  });

  it('OAUTH2_CLIENT_ID in .env overrides neither XTALK_CLIENT_ID from the environment nor client_id from config.json', async () => {
    const { XTALK_CLIENT_ID, ...noClientId } = clientEnv();
    const s = await setup('OAUTH2_CLIENT_ID=intruder\n', { client_id: XTALK_CLIENT_ID });
    const fromFile = await s.xtalk(['refresh'], noClientId);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stderr).toContain(`Not using from ${s.dotenv}: OAUTH2_CLIENT_ID (config.json gives it).`);
    const fromEnv = await s.xtalk(['refresh']);
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stderr).toContain(`Not using from ${s.dotenv}: OAUTH2_CLIENT_ID (the environment gives it).`);
    const doctor = await s.xtalk(['doctor', '--json'], noClientId);
    const config = (JSON.parse(doctor.stdout) as { checks: { name: string; detail: string }[] }).checks.find((c) => c.name === 'config')!;
    expect(config.detail).toContain(`client id ${XTALK_CLIENT_ID} (${join(s.home, 'config.json')})`);
    expect(config.detail).toContain(`not used from ${s.dotenv}: OAUTH2_CLIENT_ID (config.json gives it)`);
  });

  it('the Node API ignores them too, and says so in one process warning, never on stderr itself', async () => {
    const s = await setup(`XTALK_ID_TOKEN_SIGNING_ALG=HS256\nXTALK_API_URL=${collector.origin}/collect\n`);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const env = { ...clientEnv(), XTALK_HOME: s.home, XTALK_CREDENTIAL_STORE: 'file' };
      // The stored token expired before each call: both calls refresh, the second with the first's rotated token.
      const grants = provider.refreshGrantCount();
      for (let i = 0; i < 2; i++) {
        const past = Date.now() - 60_000;
        rawDb(join(s.home, 'xtalk.db')).run('UPDATE access_token SET expires_at = ?, created_at = ?', past, past - 3_600_000);
        expect(await getAccessToken({ env, cwd: s.repo })).toMatch(/\S/);
      }
      expect(provider.refreshGrantCount() - grants).toBe(2);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'XTALK_DOTENV_NOT_USED');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toContain('XTALK_ID_TOKEN_SIGNING_ALG, XTALK_API_URL (a .env may not set xtalk names');
  });
});
