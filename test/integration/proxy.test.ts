import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createProviderFetch, withProviderFetch } from '../../src/net/proxy-fetch.js';
import { ProviderClient } from '../../src/oidc/client.js';
import { runCli } from '../e2e/cli.js';
import { startBadProvider } from '../helpers/bad-provider.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

/** A forward proxy on 127.0.0.1 that records every request it relays: absolute-form and CONNECT. */
interface ForwardProxy {
  url: string;
  port: number;
  /** `GET http://127.0.0.1:PORT/path` or `CONNECT host:port`, in order. */
  seen: string[];
  proxyAuthorization: (string | undefined)[];
  close(): Promise<void>;
}

async function startForwardProxy(): Promise<ForwardProxy> {
  const seen: string[] = [];
  const proxyAuthorization: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    proxyAuthorization.push(req.headers['proxy-authorization']);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form requests only');
      return;
    }
    const { 'proxy-authorization': _a, 'proxy-connection': _c, ...headers } = req.headers;
    const upstream = httpRequest(target, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    proxyAuthorization.push(req.headers['proxy-authorization']);
    const [host, port] = (req.url ?? '').split(':');
    const up = netConnect(Number(port), host!, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    proxyAuthorization,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let provider: TestProvider;
let proxy: ForwardProxy;
let endpoints: { discovery: string; jwks: string; token: string };

beforeAll(async () => {
  provider = await startTestProvider();
  proxy = await startForwardProxy();
  const discovery = `${provider.issuer}/.well-known/openid-configuration`;
  const doc = (await (await fetch(discovery)).json()) as { jwks_uri: string; token_endpoint: string };
  endpoints = { discovery, jwks: doc.jwks_uri, token: doc.token_endpoint };
});
afterAll(async () => {
  await proxy?.close();
  await provider?.stop();
});
afterEach(() => {
  proxy.seen.length = 0;
  proxy.proxyAuthorization.length = 0;
});

function clientEnv(): Record<string, string> {
  return {
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  };
}

/** `xtalk login` in-process, with provider calls made the way the real Context makes them. */
async function loginWith(env: Record<string, string>, login: string) {
  const ctx = createTestContext({ env, browser: (url) => signInWithHttp(url, { login }) });
  ctx.discover = (settings) => ProviderClient.discover(withProviderFetch(settings, ctx.env));
  const code = await run(['login'], ctx);
  await Promise.allSettled(ctx.browserRuns);
  return { ctx, code };
}

describe('provider calls and HTTP(S)_PROXY / NO_PROXY', () => {
  it('uses no proxy fetch at all when no proxy variable is set', () => {
    expect(createProviderFetch({})).toBeUndefined();
    expect(createProviderFetch({ NO_PROXY: '*', HTTP_PROXY: '' })).toBeUndefined();
    expect(createProviderFetch({ https_proxy: proxy.url })).toBeTypeOf('function');
  });

  it('sends discovery, JWKS and token requests through HTTP_PROXY', async () => {
    const { ctx, code } = await loginWith({ ...clientEnv(), HTTP_PROXY: proxy.url }, 'proxied');
    expect(code, ctx.stderr.text).toBe(0);
    expect(proxy.seen).toContain(`GET ${endpoints.discovery}`);
    expect(proxy.seen).toContain(`GET ${endpoints.jwks}`);
    expect(proxy.seen).toContain(`POST ${endpoints.token}`);
    // The sign-in page is the browser's business, not xtalk's.
    expect(proxy.seen.some((s) => s.includes('/auth'))).toBe(false);
  });

  it('bypasses the proxy for hosts in NO_PROXY', async () => {
    const { ctx, code } = await loginWith({ ...clientEnv(), HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' }, 'bypass');
    expect(code, ctx.stderr.text).toBe(0);
    expect(proxy.seen).toEqual([]);
  });

  it('uses HTTPS_PROXY for https: issuers only, so an http: issuer connects directly', async () => {
    const { ctx, code } = await loginWith({ ...clientEnv(), HTTPS_PROXY: proxy.url }, 'direct');
    expect(code, ctx.stderr.text).toBe(0);
    expect(proxy.seen).toEqual([]);
  });

  it('authenticates to the proxy with the credentials in its URL', async () => {
    const authed = proxy.url.replace('http://', 'http://xtalk:s3cr%40t@');
    const { ctx, code } = await loginWith({ ...clientEnv(), http_proxy: authed }, 'proxy-auth');
    expect(code, ctx.stderr.text).toBe(0);
    expect(proxy.proxyAuthorization.length).toBeGreaterThan(0);
    expect(new Set(proxy.proxyAuthorization)).toEqual(new Set([`Basic ${Buffer.from('xtalk:s3cr@t').toString('base64')}`]));
  });

  it('stops reading a huge answer at 1 MB through the proxy too', async () => {
    const bad = await startBadProvider('huge');
    try {
      const proxied = createProviderFetch({ HTTP_PROXY: proxy.url })!;
      await expect(proxied(`${bad.issuer}/.well-known/openid-configuration`)).rejects.toMatchObject({
        code: 'RESPONSE_TOO_LARGE',
        message: expect.stringMatching(/larger than 1 MB/),
      });
      expect(proxy.seen).toContain(`GET ${bad.issuer}/.well-known/openid-configuration`);
      expect(bad.bytesSent()).toBeLessThan(20 * 1024 * 1024);
    } finally {
      await bad.stop();
    }
  });

  it('takes a bare host:port as an http: proxy, as curl does', async () => {
    const { ctx, code } = await loginWith({ ...clientEnv(), HTTP_PROXY: `127.0.0.1:${proxy.port}` }, 'bare-proxy');
    expect(code, ctx.stderr.text).toBe(0);
    expect(proxy.seen).toContain(`POST ${endpoints.token}`);
  });

  it('refuses a proxy variable that is not a URL before any request (exit 1: bad config)', async () => {
    const { ctx, code } = await loginWith({ ...clientEnv(), HTTPS_PROXY: 'socks4://user:pw@proxy.example:1080' }, 'nobody');
    expect(code).toBe(1);
    expect(ctx.stderr.text).toContain('HTTPS_PROXY uses socks4:, but the proxy must be http: or https:');
    expect(ctx.stderr.text).not.toContain('pw@');
    expect(ctx.opened).toEqual([]);
  });

  it('reports an unreachable proxy as a network error (exit 1)', async () => {
    const closed = await startForwardProxy();
    await closed.close();
    const { ctx, code } = await loginWith({ ...clientEnv(), HTTP_PROXY: closed.url }, 'nobody');
    expect(code).toBe(1);
    expect(ctx.stderr.text).toMatch(/Cannot reach the provider for discovery/);
    expect(ctx.opened).toEqual([]);
  });
});

describe('the built CLI behind a proxy', () => {
  it('refreshes through HTTP_PROXY (system context, undici loaded on demand)', async () => {
    const { ctx, code } = await loginWith(clientEnv(), 'cli-proxied');
    expect(code, ctx.stderr.text).toBe(0);
    proxy.seen.length = 0;
    const res = await runCli(['refresh'], {
      env: { ...clientEnv(), XTALK_HOME: ctx.home, XTALK_CREDENTIAL_STORE: 'file', HTTP_PROXY: proxy.url },
    });
    expect(res.code, res.stderr).toBe(0);
    expect(proxy.seen).toContain(`GET ${endpoints.discovery}`);
    expect(proxy.seen).toContain(`POST ${endpoints.token}`);
  });

  it('xtalk doctor checks the provider through the proxy and says so', async () => {
    const res = await runCli(['doctor', '--json'], {
      env: {
        ...clientEnv(),
        XTALK_HOME: createTestContext().home,
        XTALK_CREDENTIAL_STORE: 'file',
        HTTP_PROXY: `http://u:hidden@127.0.0.1:${proxy.port}`,
      },
    });
    const report = JSON.parse(res.stdout) as { checks: { name: string; status: string; detail: string }[] };
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(byName.discovery!.status, res.stdout).toBe('ok');
    expect(byName.jwks!.status).toBe('ok');
    expect(proxy.seen).toEqual([`GET ${endpoints.discovery}`, `GET ${endpoints.jwks}`]);
    expect(byName.proxy!.detail).toContain(`${provider.issuer} goes through http://***@127.0.0.1:${proxy.port} (HTTP_PROXY)`);
    expect(res.stdout).not.toContain('hidden');
  });
});
