import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';
import { heldTokens } from '../helpers/held-tokens.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type KoaMiddleware, type TestProvider } from '../provider/provider.js';

// The README's X-Talk case: a provider whose discovery document names no revocation endpoint
// (the endpoint itself is live at /token/revocation).
let hidden: TestProvider;
let capture: { url: string; requests: { url: string; authorization: string | undefined; body: string }[]; server: Server };
/** What the provider's revocation path answers instead of the real thing, when set. */
let revocationOverride: { status: number; location?: string } | undefined;

beforeAll(async () => {
  const override: KoaMiddleware = async (ctx, next) => {
    if (ctx.path !== '/token/revocation' || !revocationOverride) return next();
    ctx.status = revocationOverride.status;
    if (revocationOverride.location) ctx.set('location', revocationOverride.location);
    ctx.body = '';
  };
  hidden = await startTestProvider({ hideRevocationEndpoint: true, middleware: [override] });
  const requests: typeof capture.requests = [];
  // An attacker's server: answers every request like a revocation endpoint would, and keeps it.
  const server = createServer((req, res) => {
    let body = '';
    req
      .on('data', (d) => (body += d))
      .on('end', () => {
        requests.push({ url: req.url ?? '', authorization: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  capture = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/revoke`, requests, server };
});
afterEach(() => {
  revocationOverride = undefined;
});
afterAll(async () => {
  await hidden?.stop();
  await new Promise((r) => capture?.server.close(r));
});

const sameOrigin = () => `${hidden.issuer}/token/revocation`;
const clientEnv = (extra: Record<string, string> = {}) => ({
  XTALK_ISSUER: hidden.issuer,
  XTALK_CLIENT_ID: hidden.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: hidden.confidentialClient.clientSecret,
  ...extra,
});

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A folder like a cloned repository whose `.env` points the revocation endpoint at the attacker. */
function hostileRepo(): string {
  const repo = tempDir('xtalk-repo-');
  writeFileSync(join(repo, '.env'), `OAUTH2_REVOCATION_ENDPOINT=${capture.url}\n`);
  return repo;
}

async function xtalk(args: string[], opts: { home: string; env: Record<string, string>; cwd?: string; login?: string }) {
  const ctx = createTestContext({
    home: opts.home,
    cwd: opts.cwd,
    env: opts.env,
    browser: (url) => signInWithHttp(url, { login: opts.login ?? 'x' }),
  });
  const code = await run(args, ctx);
  await Promise.all(ctx.browserRuns);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text, opened: ctx.opened };
}

async function login(name: string, env: Record<string, string>): Promise<string> {
  const home = tempDir('xtalk-home-');
  const r = await xtalk(['login'], { home, env, login: name });
  expect(r.code, r.stderr).toBe(0);
  return home;
}

function storedEndpoint(home: string): string | null {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  try {
    return store.listAccounts()[0]!.revocationEndpoint;
  } finally {
    store.close();
  }
}

async function expectActive(tokens: string[], active: boolean): Promise<void> {
  expect(tokens.length).toBeGreaterThan(0);
  for (const t of tokens) expect((await hidden.introspect(t)).active).toBe(active);
}

describe('the revocation endpoint is decided at login and must share the issuer origin', () => {
  it('a .env at logout time cannot redirect the revocation of a session whose endpoint was stored at login', async () => {
    const home = await login('ada', clientEnv({ XTALK_REVOCATION_ENDPOINT: sameOrigin() }));
    expect(storedEndpoint(home)).toBe(sameOrigin());
    const tokens = await heldTokens(home);
    const before = capture.requests.length;

    const r = await xtalk(['logout'], { home, env: clientEnv(), cwd: hostileRepo() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Logged out ada from ${hidden.issuer}; 2 tokens revoked`);
    expect(capture.requests.slice(before), 'the attacker received requests').toEqual([]);
    await expectActive(tokens, false);
  });

  it('without a stored endpoint, a .env endpoint off the issuer origin is refused naming both URLs; nothing is sent or deleted', async () => {
    // Logged in with no endpoint known (as every account stored before this column existed).
    const home = await login('bea', clientEnv());
    expect(storedEndpoint(home)).toBeNull();
    const tokens = await heldTokens(home);
    const before = capture.requests.length;

    const refused = await xtalk(['logout'], { home, env: clientEnv(), cwd: hostileRepo() });
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stderr).toContain(
      `The revocation endpoint ${capture.url} (from OAUTH2_REVOCATION_ENDPOINT in .env) is not on the origin of the issuer ${hidden.issuer}`,
    );
    expect(refused.stderr).toContain('--force');
    expect(refused.stderr).not.toContain('Logged out');
    expect(capture.requests.slice(before)).toEqual([]);
    expect(await heldTokens(home)).toEqual(tokens);
    await expectActive(tokens, true);

    // The provider's own endpoint (same origin) works, and then the tokens are dead.
    const ok = await xtalk(['logout'], { home, env: clientEnv({ XTALK_REVOCATION_ENDPOINT: sameOrigin() }) });
    expect(ok.code, ok.stderr).toBe(0);
    await expectActive(tokens, false);
    expect(capture.requests.slice(before)).toEqual([]);
  });

  it.each(['environment', '.env', 'config.json'] as const)(
    'login refuses an endpoint off the issuer origin from the %s before anyone signs in',
    async (source) => {
      const home = tempDir('xtalk-home-');
      const cwd = tempDir('xtalk-cwd-');
      const env = clientEnv();
      let from = '';
      if (source === 'environment') {
        Object.assign(env, { XTALK_REVOCATION_ENDPOINT: capture.url });
        from = 'XTALK_REVOCATION_ENDPOINT';
      } else if (source === '.env') {
        writeFileSync(join(cwd, '.env'), `OAUTH2_REVOCATION_ENDPOINT=${capture.url}\n`);
        from = 'OAUTH2_REVOCATION_ENDPOINT in .env';
      } else {
        writeFileSync(join(home, 'config.json'), JSON.stringify({ revocation_endpoint: capture.url }));
        from = `"revocation_endpoint" in ${join(home, 'config.json')}`;
      }
      const before = capture.requests.length;
      const r = await xtalk(['login'], { home, env, cwd, login: 'cleo' });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `✗ The revocation endpoint ${capture.url} (from ${from}) is not on the origin of the issuer ${hidden.issuer}`,
      );
      expect(r.opened, 'a browser was sent to sign in').toEqual([]);
      expect(capture.requests.slice(before)).toEqual([]);

      const doctor = await xtalk(['doctor', '--json'], { home, env, cwd });
      const check = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks.find(
        (c) => c.name === 'revocation',
      );
      expect(check).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining(`${capture.url} (from ${from}) is not on the origin of the issuer ${hidden.issuer}`),
      });
    },
  );

  it('counts a revocation only on the endpoint answering 200: 204 or a redirect keeps the tokens (exit 5)', async () => {
    const home = await login('dina', clientEnv({ XTALK_REVOCATION_ENDPOINT: sameOrigin() }));
    const tokens = await heldTokens(home);
    const before = capture.requests.length;
    for (const answer of [{ status: 204 }, { status: 307, location: capture.url }]) {
      revocationOverride = answer;
      const r = await xtalk(['logout'], { home, env: clientEnv() });
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).not.toContain('Logged out');
      expect(await heldTokens(home)).toEqual(tokens);
    }
    expect(capture.requests.slice(before), 'a redirect was followed').toEqual([]);
    revocationOverride = undefined;
    const r = await xtalk(['logout'], { home, env: clientEnv() });
    expect(r.code, r.stderr).toBe(0);
    await expectActive(tokens, false);
  });
});
