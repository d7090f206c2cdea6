/**
 * `xtalk api` against a resource server on 127.0.0.1 that checks bearer tokens by introspection at
 * the local provider: bodies from a string, a file and stdin, headers, --include, the one refresh
 * and retry on 401 invalid_token, redirects, proxies and exit codes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  requestId: string | undefined;
  body: string;
}

interface Recorder {
  origin: string;
  seen: Seen[];
  /** Tokens this API refuses with invalid_token although the provider still accepts their session. */
  refused: Set<string>;
  close(): Promise<void>;
}

let provider: TestProvider;
let api: Recorder;
let elsewhere: Recorder;
let home: string;

const env = (extra: Record<string, string> = {}) => ({
  XTALK_ISSUER: provider.issuer,
  XTALK_CLIENT_ID: provider.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  XTALK_API_URL: `${api.origin}/api`,
  ...extra,
});

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
  });
}

/** The resource server: every path needs a token the provider says is active, except where noted. */
async function startApi(): Promise<Recorder> {
  const seen: Seen[] = [];
  const refused = new Set<string>();
  let origin = '';
  const server: Server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    const body = await readBody(req);
    const authorization = req.headers.authorization;
    seen.push({
      method: req.method ?? '',
      path,
      authorization,
      contentType: req.headers['content-type'],
      requestId: req.headers['x-request-id'] as string | undefined,
      body,
    });
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', 'x-api': 'test', ...headers }).end(JSON.stringify(value));
    if (path === '/api/plain-401') return json(401, { error: 'unauthorized' });
    if (path === '/api/always-invalid')
      return json(401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    if (path === '/api/elsewhere') return res.writeHead(302, { location: `${elsewhere.origin}/steal` }).end();
    if (path === '/api/moved') return res.writeHead(302, { location: '/api/devices?moved=1' }).end();
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token || refused.has(token) || !(await provider.introspect(token)).active) {
      return json(401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer realm="api", error="invalid_token"' });
    }
    if (path.startsWith('/api/devices')) return json(200, [{ name: 'lamp' }, { name: 'fan' }]);
    if (path === '/api/echo') return json(201, { method: req.method, body, contentType: req.headers['content-type'] });
    if (path === '/api/text') return res.writeHead(200, { 'content-type': 'text/plain' }).end('plain\n');
    const status = /^\/api\/status\/(\d{3})$/.exec(path)?.[1];
    if (status) return json(Number(status), { status: Number(status) });
    return json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    seen,
    refused,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function storedAccessToken(): Promise<string> {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  try {
    return (await store.latestAccessToken(store.currentAccount()!.id))!.accessToken;
  } finally {
    store.close();
  }
}

async function xtalk(args: string[], opts: { stdin?: string; env?: Record<string, string>; stdoutIsTTY?: boolean; cwd?: string } = {}) {
  const ctx = createTestContext({ env: env(opts.env), home, stdin: opts.stdin, cwd: opts.cwd });
  if (opts.stdoutIsTTY) ctx.io.stdoutIsTTY = true;
  const code = await run(['api', ...args], ctx);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text };
}

beforeAll(async () => {
  provider = await startTestProvider();
  api = await startApi();
  elsewhere = await startApi();
  const ctx = createTestContext({ env: env(), browser: (url) => signInWithHttp(url, { login: 'api-user' }) });
  expect(await run(['login'], ctx)).toBe(0);
  await Promise.all(ctx.browserRuns);
  home = ctx.home;
});
afterAll(async () => {
  await provider?.stop();
  await api?.close();
  await elsewhere?.close();
});
beforeEach(() => {
  api.seen.length = 0;
  elsewhere.seen.length = 0;
});

describe('xtalk api', () => {
  it('GETs a relative path below XTALK_API_URL with the bearer token; the body goes to stdout as received', async () => {
    const token = await storedAccessToken();
    const res = await xtalk(['devices']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('[{"name":"lamp"},{"name":"fan"}]');
    expect(res.stderr).toBe('');
    expect(api.seen).toEqual([expect.objectContaining({ method: 'GET', path: '/api/devices', authorization: `Bearer ${token}` })]);
  });

  it('pretty-prints JSON for a terminal, and takes an absolute URL', async () => {
    const res = await xtalk([`${api.origin}/api/devices`], { stdoutIsTTY: true });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`${JSON.stringify([{ name: 'lamp' }, { name: 'fan' }], null, 2)}\n`);
  });

  it('POSTs a string, a file and stdin, with headers; --include puts status and headers on stderr', async () => {
    const file = join(home, '..', 'body.json');
    writeFileSync(file, '{"from":"file"}\n');
    const fromString = await xtalk(['/echo', '--data', '{"from":"string"}', '-H', 'X-Request-Id: 42']);
    const fromFile = await xtalk(['echo', '--data', `@${file}`, '-H', 'Content-Type: application/vnd.test+json']);
    const fromStdin = await xtalk(['echo', '--data', '@-', '--method', 'put', '--include'], { stdin: 'line 1\nline 2\n' });
    for (const r of [fromString, fromFile, fromStdin]) expect(r.code).toBe(0);
    expect(JSON.parse(fromString.stdout)).toEqual({ method: 'POST', body: '{"from":"string"}', contentType: 'application/json' });
    expect(JSON.parse(fromFile.stdout)).toEqual({ method: 'POST', body: '{"from":"file"}\n', contentType: 'application/vnd.test+json' });
    expect(JSON.parse(fromStdin.stdout)).toEqual({ method: 'PUT', body: 'line 1\nline 2\n', contentType: 'application/json' });
    expect(api.seen[0]!.requestId).toBe('42');
    expect(fromStdin.stderr).toMatch(/^HTTP 201 Created\n(.+\n)*x-api: test\n/);
    expect(fromString.stderr).toBe('');
  });

  it('exits 1 for 4xx and 5xx (body still on stdout), 0 for 3xx', async () => {
    for (const status of [400, 404, 500, 503]) {
      const res = await xtalk([`status/${status}`]);
      expect(res.code, `HTTP ${status}`).toBe(1);
      expect(JSON.parse(res.stdout)).toEqual({ status });
      expect(res.stderr).toContain(`HTTP ${status}`);
    }
    expect((await xtalk(['status/204'])).code).toBe(0);
    expect((await xtalk(['status/304'])).code).toBe(0);
    const plain = await xtalk(['plain-401']);
    expect(plain.code).toBe(1);
    // No invalid_token: nothing to refresh, no retry.
    expect(api.seen.filter((s) => s.path === '/api/plain-401')).toHaveLength(1);
  });

  it('on 401 invalid_token refreshes the session once and retries once', async () => {
    const before = await storedAccessToken();
    api.refused.add(before);
    const refreshes = provider.refreshGrantCount();
    const res = await xtalk(['devices']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toHaveLength(2);
    expect(provider.refreshGrantCount()).toBe(refreshes + 1);
    const after = await storedAccessToken();
    expect(after).not.toBe(before);
    expect(api.seen.map((s) => s.authorization)).toEqual([`Bearer ${before}`, `Bearer ${after}`]);
  });

  it('a second 401 invalid_token after the refresh exits 4 (log in again)', async () => {
    const refreshes = provider.refreshGrantCount();
    const res = await xtalk(['always-invalid']);
    expect(res.code).toBe(4);
    expect(res.stderr).toMatch(/refused the access token again after a refresh/);
    expect(res.stderr).toMatch(/hint: Run `xtalk login`/);
    expect(provider.refreshGrantCount()).toBe(refreshes + 1);
    expect(api.seen).toHaveLength(2);
  });

  it('does not resend a stdin body after 401 invalid_token, but refreshes so the next run works', async () => {
    api.refused.add(await storedAccessToken());
    const refreshes = provider.refreshGrantCount();
    const res = await xtalk(['echo', '--data', '@-'], { stdin: '{"once":true}' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/request body from stdin was used up: run the command again/);
    expect(api.seen).toHaveLength(1);
    expect(provider.refreshGrantCount()).toBe(refreshes + 1);
    expect((await xtalk(['echo', '--data', '@-'], { stdin: '{"once":true}' })).code).toBe(0);
  });

  it('follows a redirect within the origin, never one to another origin with the token', async () => {
    const moved = await xtalk(['moved']);
    expect(moved.code).toBe(0);
    expect(api.seen.map((s) => s.path)).toEqual(['/api/moved', '/api/devices?moved=1']);
    expect(api.seen[1]!.authorization).toMatch(/^Bearer /);

    const away = await xtalk(['elsewhere', '--include']);
    expect(away.code).toBe(0);
    expect(away.stderr).toContain(`Not following the redirect to ${elsewhere.origin}`);
    expect(away.stderr).toMatch(/^HTTP 302 Found$/m);
    expect(elsewhere.seen).toEqual([]);
  });

  it('keeps the token out of --debug output and refuses plain http to other hosts and an Authorization header', async () => {
    const token = await storedAccessToken();
    const debug = await xtalk(['devices', '--debug']);
    expect(debug.code).toBe(0);
    expect(debug.stderr).toContain('api: GET');
    expect(debug.stderr).not.toContain(token);

    const insecure = await xtalk(['http://iottalk.example/api', '--allow-origin', 'http://iottalk.example']);
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toMatch(/Refused to send the access token to http:\/\/iottalk\.example: plain http:/);
    const header = await xtalk(['devices', '-H', 'Authorization: Bearer other']);
    expect(header.code).toBe(2);
    expect((await xtalk(['devices', '-X', 'GET', '--data', 'x'])).code).toBe(2);
    expect((await xtalk(['devices', '-H', 'no colon'])).code).toBe(2);
    const relative = createTestContext({ env: { ...env(), XTALK_API_URL: '' }, home });
    expect(await run(['api', 'devices'], relative)).toBe(2);
    expect(relative.stderr.text).toMatch(/no API base URL is configured/);
    expect(api.seen).toHaveLength(1);
  });

  it('exits 4 when nobody is logged in', async () => {
    const ctx = createTestContext({ env: env() });
    expect(await run(['api', 'devices'], ctx)).toBe(4);
    expect(api.seen).toEqual([]);
  });

  it('refuses an origin that is not the API, the issuer or named with --allow-origin: exit 2, nothing sent', async () => {
    const grants = provider.refreshGrantCount();
    const refused = await xtalk([`${elsewhere.origin}/api/devices`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`Refused to send the access token to ${elsewhere.origin}`);
    expect(refused.stderr).toMatch(/hint: .*--allow-origin/);
    expect(elsewhere.seen).toEqual([]);
    expect(provider.refreshGrantCount()).toBe(grants);

    const named = await xtalk([`${elsewhere.origin}/api/devices`, '--allow-origin', elsewhere.origin]);
    expect(named.code).toBe(0);
    expect(elsewhere.seen).toEqual([
      expect.objectContaining({ path: '/api/devices', authorization: `Bearer ${await storedAccessToken()}` }),
    ]);
    expect((await xtalk(['devices', '--allow-origin', `${elsewhere.origin}/api`])).code).toBe(2);
  });

  it('sends a loopback request direct, never through HTTP_PROXY, whatever NO_PROXY says', async () => {
    const proxy = await startProxy();
    try {
      const proxies: Record<string, string>[] = [
        { HTTP_PROXY: proxy.url, NO_PROXY: 'example.invalid' },
        { http_proxy: proxy.url, HTTPS_PROXY: proxy.url },
      ];
      for (const extra of proxies) {
        api.seen.length = 0;
        const res = await xtalk(['devices'], { env: extra });
        expect(res.code).toBe(0);
        expect(api.seen).toEqual([expect.objectContaining({ path: '/api/devices', authorization: expect.stringMatching(/^Bearer /) })]);
      }
      expect(proxy.seen).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('plain http to another host only for an opted-in origin (environment or config.json, never .env), through the proxy', async () => {
    // The proxy answers for lab.example.test itself: nothing is looked up or sent beyond 127.0.0.1.
    const proxy = await startProxy();
    const lab = 'http://lab.example.test:8080';
    try {
      const args = [`${lab}/api/devices`, '--allow-origin', lab];
      const refused = await xtalk(args, { env: { HTTP_PROXY: proxy.url } });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/hint: .*insecure_http_origins/);

      const dir = mkdtempSync(join(tmpdir(), 'xtalk-api-dotenv-'));
      writeFileSync(join(dir, '.env'), `XTALK_INSECURE_HTTP_ORIGINS=${lab}\n`);
      expect((await xtalk(args, { env: { HTTP_PROXY: proxy.url }, cwd: dir })).code).toBe(2);
      expect(proxy.seen).toEqual([]);

      const optedIn = await xtalk(args, { env: { HTTP_PROXY: proxy.url, XTALK_INSECURE_HTTP_ORIGINS: lab } });
      expect(optedIn.code).toBe(0);
      expect(optedIn.stdout).toBe('{"lab":true}');
      expect(proxy.seen).toEqual([{ line: `GET ${lab}/api/devices`, authorization: `Bearer ${await storedAccessToken()}` }]);
    } finally {
      await proxy.close();
    }
  });
});

/** An HTTP proxy on 127.0.0.1 that records what reaches it and answers every request itself. */
async function startProxy() {
  const seen: { line: string; authorization: string | undefined }[] = [];
  const proxy = createServer((req, res) => {
    seen.push({ line: `${req.method} ${req.url}`, authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"lab":true}');
  });
  proxy.on('connect', (req, socket) => {
    seen.push({ line: `CONNECT ${req.url}`, authorization: undefined });
    socket.destroy();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      }),
  };
}
