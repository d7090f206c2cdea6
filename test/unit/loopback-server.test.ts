import { request } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelledError, XtalkError } from '../../src/errors.js';
import { escapeHtml, renderResultPage, startCallbackServer, type CallbackServer } from '../../src/loopback/server.js';
import { isRefused } from '../helpers/raw-http.js';

const STATE = 'state-0123456789abcdef';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so tests control the method, path and Host header exactly. */
function send(port: number, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false, headers: { host: opts.host ?? `127.0.0.1:${port}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function expectClosedWithin(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await isRefused(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Proves the server is still waiting: the genuine callback is the one that resolves. */
async function completeGenuine(server: CallbackServer): Promise<Reply> {
  const pending = send(server.port, `/callback?code=real-code&state=${STATE}`);
  const cb = await server.waitForCallback();
  expect(cb.url.searchParams.get('code')).toBe('real-code');
  await cb.respond({ ok: true, title: 'Signed in', message: 'Signed in as alice — you can close this tab.' });
  return pending;
}

let servers: CallbackServer[] = [];
let blockers: NetServer[] = [];
async function start(opts: Partial<Parameters<typeof startCallbackServer>[0]> = {}): Promise<CallbackServer> {
  const server = await startCallbackServer({ expectedState: STATE, timeoutMs: 10_000, ...opts });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(blockers.map((b) => new Promise((r) => b.close(r))));
  servers = [];
  blockers = [];
});

describe('startCallbackServer', () => {
  it('binds 127.0.0.1 on an ephemeral port and reports the redirect URI', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.redirectUri).toBe(`http://127.0.0.1:${server.port}/callback`);
  });

  it('accepts the genuine callback, holds the response until respond(), then closes the port', async () => {
    const server = await start();
    let answered = false;
    const pending = send(server.port, `/callback?code=abc&state=${STATE}&iss=https%3A%2F%2Fidp.example`).then((r) => {
      answered = true;
      return r;
    });
    const cb = await server.waitForCallback();
    expect(cb.url.href).toBe(`http://127.0.0.1:${server.port}/callback?code=abc&state=${STATE}&iss=https%3A%2F%2Fidp.example`);
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);

    const respondedAt = Date.now();
    await cb.respond({ ok: true, title: 'Signed in', message: 'Signed in as alice — you can close this tab.' });
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('Signed in as alice — you can close this tab.');
    expect(reply.body).not.toContain('abc');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['referrer-policy']).toBe('no-referrer');
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'unsafe-inline'/);
    await expectClosedWithin(server.port, 1000 - (Date.now() - respondedAt));
  });

  it('answers a wrong path with 404 and keeps waiting', async () => {
    const server = await start();
    const favicon = await send(server.port, '/favicon.ico');
    expect(favicon.status).toBe(404);
    expect(favicon.headers['content-security-policy']).toContain("default-src 'none'");
    expect((await send(server.port, `/callback/?code=x&state=${STATE}`)).status).toBe(404);
    expect((await send(server.port, `/callbackx?code=x&state=${STATE}`)).status).toBe(404);
    expect((await completeGenuine(server)).status).toBe(200);
  });

  it('answers a wrong, missing or duplicated state with 400 and keeps waiting', async () => {
    const server = await start();
    expect((await send(server.port, '/callback?code=forged&state=wrong')).status).toBe(400);
    expect((await send(server.port, '/callback?code=forged')).status).toBe(400);
    expect((await send(server.port, '/callback?error=access_denied')).status).toBe(400);
    expect((await send(server.port, `/callback?code=forged&state=${STATE}&state=${STATE}`)).status).toBe(400);
    expect((await send(server.port, `/callback?code=forged&state=${STATE}x`)).status).toBe(400);
    expect((await completeGenuine(server)).status).toBe(200);
  });

  it('refuses a foreign Host header (DNS rebinding) and keeps waiting', async () => {
    const server = await start();
    for (const host of [
      'evil.example',
      `evil.example:${server.port}`,
      `localhost:${server.port}`,
      '127.0.0.1',
      `127.0.0.1:${server.port + 1}`,
    ]) {
      const reply = await send(server.port, `/callback?code=forged&state=${STATE}`, { host });
      expect(reply.status, host).toBe(421);
    }
    expect((await completeGenuine(server)).status).toBe(200);
  });

  it('rejects POST and HEAD on the callback path with 405 and keeps waiting', async () => {
    const server = await start();
    const post = await send(server.port, `/callback?code=x&state=${STATE}`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
    expect((await send(server.port, `/callback?code=x&state=${STATE}`, { method: 'HEAD' })).status).toBe(405);
    expect((await completeGenuine(server)).status).toBe(200);
  });

  it('resolves with a provider error callback that carries the right state', async () => {
    const server = await start();
    const pending = send(server.port, `/callback?error=access_denied&error_description=User%20said%20no&state=${STATE}`);
    const cb = await server.waitForCallback();
    expect(cb.url.searchParams.get('error')).toBe('access_denied');
    await cb.respond({ ok: false, title: 'Sign-in failed', message: 'access_denied: User said no' });
    const reply = await pending;
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('access_denied: User said no');
  });

  it('accepts only one callback: a second genuine-looking one gets 400', async () => {
    const server = await start();
    const first = send(server.port, `/callback?code=one&state=${STATE}`);
    const cb = await server.waitForCallback();
    const second = await send(server.port, `/callback?code=two&state=${STATE}`);
    expect(second.status).toBe(400);
    expect(second.body).not.toContain('two');
    await cb.respond({ ok: true, title: 'Signed in', message: 'ok' });
    expect((await first).status).toBe(200);
  });

  it('escapes the failure reason in the page', async () => {
    const server = await start();
    const pending = send(server.port, `/callback?error=x&state=${STATE}`);
    const cb = await server.waitForCallback();
    await cb.respond({ ok: false, title: 'Sign-in <failed>', message: `<script>alert("x")</script> & 'more'` });
    const { body } = await pending;
    expect(body).not.toContain('<script>');
    expect(body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;more&#39;');
    expect(body).toContain('Sign-in &lt;failed&gt;');
  });

  it('survives a 64 KB query string and keeps waiting', async () => {
    const server = await start();
    const huge = `/callback?state=${STATE}&junk=${'a'.repeat(64 * 1024)}`;
    const status = await new Promise<number | 'reset'>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: server.port });
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('error', () => resolve('reset'));
      socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0) || 'reset'));
      socket.write(`GET ${huge} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    });
    expect([414, 431, 'reset']).toContain(status);
    // Just over the URL limit but under the header limit: answered by the handler itself.
    const long = await send(server.port, `/callback?state=${STATE}&junk=${'b'.repeat(9000)}`);
    expect(long.status).toBe(414);
    expect((await completeGenuine(server)).status).toBe(200);
  });

  it('rejects with a timeout error naming --timeout and closes the port', async () => {
    const server = await start({ timeoutMs: 200 });
    const err = await server.waitForCallback().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(XtalkError);
    expect(err).not.toBeInstanceOf(CancelledError);
    expect((err as XtalkError).exitCode).toBe(1);
    expect((err as XtalkError).message).toBe('Timed out after 0.2 s waiting for the sign-in to finish.');
    expect((err as XtalkError).code).toBe('TIMEOUT');
    expect((err as XtalkError).hint).toContain('--timeout');
    await expectClosedWithin(server.port, 1000);
  });

  it('rejects with CancelledError on abort and closes the port', async () => {
    const controller = new AbortController();
    const server = await start({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const err = await server.waitForCallback().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as CancelledError).exitCode).toBe(130);
    await expectClosedWithin(server.port, 1000);
  });

  it('refuses to start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(start({ signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
  });

  it('reports a busy fixed port with a hint about --port, XTALK_PORT and 0', async () => {
    const blocker = createNetServer();
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as { port: number }).port;
    const err = await start({ port: busy }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(XtalkError);
    expect((err as XtalkError).exitCode).toBe(1);
    expect((err as XtalkError).message).toContain(String(busy));
    expect(err).toMatchObject({ code: 'PORT_IN_USE', facts: { port: busy } });
    expect((err as XtalkError).hint).toMatch(/--port/);
    expect((err as XtalkError).hint).toMatch(/XTALK_PORT/);
    expect((err as XtalkError).hint).toMatch(/\b0\b/);
  });

  it('binds a free fixed port when asked', async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const server = await start({ port });
    expect(server.redirectUri).toBe(`http://127.0.0.1:${port}/callback`);
  });

  it('answers the browser with a page when closed before respond()', async () => {
    const server = await start();
    const pending = send(server.port, `/callback?code=c&state=${STATE}`);
    await server.waitForCallback();
    await server.close();
    expect((await pending).status).toBe(503);
  });
});

describe('renderResultPage / escapeHtml', () => {
  it('serves a one-time start link: forged, foreign-Host or POST requests do not use it up; the first GET redirects', async () => {
    const server = await start();
    const target = 'https://idp.example/authorize?state=s&nonce=n&code_challenge=c';
    const link = new URL(server.offerStart(target));
    expect(link.href).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/start/[\\w-]{43}$`));
    expect((await send(server.port, '/start/guessed')).status).toBe(404);
    expect((await send(server.port, `${link.pathname}x`)).status).toBe(404);
    expect((await send(server.port, link.pathname, { host: 'evil.example' })).status).toBe(421);
    expect((await send(server.port, link.pathname, { method: 'POST' })).status).toBe(405);
    const first = await send(server.port, link.pathname);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe(target);
    expect(first.headers['cache-control']).toBe('no-store');
    await completeGenuine(server);
  });

  it('fails the wait when the start link is requested a second time before the callback', async () => {
    const server = await start();
    const link = new URL(server.offerStart('https://idp.example/authorize'));
    expect((await send(server.port, link.pathname)).status).toBe(302);
    const waiting = server.waitForCallback();
    const second = await send(server.port, link.pathname);
    expect(second.status).toBe(410);
    await expect(waiting).rejects.toMatchObject({ code: 'SIGN_IN_LINK_REUSED', message: expect.stringMatching(/opened twice/) });
    await expectClosedWithin(server.port, 2000);
  });

  it('escapes every HTML metacharacter', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('renders a self-contained page without scripts', () => {
    const html = renderResultPage({ ok: true, title: 'Signed in', message: 'Signed in as <bob>' });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Signed in as &lt;bob&gt;');
    expect(html).not.toMatch(/<script|src=|href=/i);
  });
});

describe('closing after the answer', () => {
  it('closes every socket the browser holds once the answer is sent, without waiting for the browser or any timer', async () => {
    // Timers are frozen: a listener that needs one (a force-close delay) never closes and the test times out.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const server = await start({ timeoutMs: Infinity });
      // As Chromium does: a socket opened ahead and left idle, and the callback on a socket whose own
      // side stays open after the answer (allowHalfOpen), so only the listener can end it.
      const idle = connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
      const browser = connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
      const idleClosedByListener = new Promise<void>((resolve) => idle.once('end', resolve));
      const answer = new Promise<string>((resolve) => {
        let text = '';
        browser.setEncoding('utf8').on('data', (d: string) => (text += d));
        browser.once('end', () => resolve(text));
      });
      await Promise.all([new Promise((r) => idle.once('connect', r)), new Promise((r) => browser.once('connect', r))]);
      browser.write(`GET /callback?code=c&state=${STATE} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: keep-alive\r\n\r\n`);
      const callback = await server.waitForCallback();
      await callback.respond({ ok: true, title: 'Signed in', message: 'Signed in as alice.' });
      // respond() resolves after the listener closed: by then both sockets were ended by it.
      await Promise.all([idleClosedByListener, answer]);
      expect(await answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*connection: close[\s\S]*Signed in as alice\./i);
      await server.close();
      idle.destroy();
      browser.destroy();
    } finally {
      vi.useRealTimers();
    }
  });
});
