import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanHeaders, LeanResponse, leanFetch } from '../../src/net/lean-fetch.js';
import { boundedFetch } from '../../src/shared/bounded-fetch.js';
import { fetchDiscovery } from '../../src/oidc/discovery.js';

// src/net/lean-fetch.ts is dist/quick-net.cjs's fetch (the CLI's refresh): each behaviour the
// provider calls rely on, against a real HTTP server on 127.0.0.1.

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
const routes = new Map<string, Handler>();
const connections = new Set<Socket>();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => routes.get(req.url ?? '')?.(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (s) => connections.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of connections) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** What fetch's callers here expect of `fetch` (as the bundle's injection makes it). */
const asFetch = leanFetch as unknown as typeof fetch;

describe('LeanHeaders', () => {
  it('is case-insensitive, joins repeated values and iterates sorted lower-case names, as fetch Headers', () => {
    const h = new LeanHeaders({ 'Content-Type': 'application/json', 'X-B': '1' });
    h.append('x-b', '2');
    h.set('WWW-Authenticate', 'Basic realm="x"');
    expect(h.get('content-type')).toBe('application/json');
    expect(h.get('X-b')).toBe('1, 2');
    expect(h.has('www-authenticate')).toBe(true);
    expect(h.get('missing')).toBeNull();
    h.delete('X-B');
    expect([...h]).toEqual([...new Headers([...h])]);
    expect([...new LeanHeaders(h)]).toEqual([
      ['content-type', 'application/json'],
      ['www-authenticate', 'Basic realm="x"'],
    ]);
    expect(Object.prototype.toString.call(h)).toBe('[object Headers]');
  });
});

describe('leanFetch', () => {
  it('GETs a JSON answer: status, status text, headers and body as fetch gives them', async () => {
    routes.set('/doc', (req, res) => {
      res.writeHead(200, 'Fine', { 'Content-Type': 'application/json', 'X-Seen-Accept': String(req.headers.accept) });
      res.end('{"issuer":"x"}');
    });
    const res = await leanFetch(`${base}/doc`, { headers: { accept: 'application/json' } });
    expect([res.status, res.statusText, res.ok]).toEqual([200, 'Fine', true]);
    expect(res.headers.get('x-seen-accept')).toBe('application/json');
    expect(res.url).toBe(`${base}/doc`);
    expect(await res.json()).toEqual({ issuer: 'x' });
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow(TypeError);
  });

  it('POSTs a form (URLSearchParams) with its content type and length, and reads an error answer', async () => {
    let seen: { type?: string; length?: string; body?: string; auth?: string } = {};
    routes.set('/token', (req, res, body) => {
      seen = {
        type: req.headers['content-type'],
        length: req.headers['content-length'],
        body: body.toString(),
        auth: req.headers.authorization,
      };
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":"invalid_grant"}');
    });
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'a b+c' });
    const res = await leanFetch(`${base}/token`, { method: 'POST', body: form, headers: { authorization: 'Basic eDp5' } });
    expect(seen).toEqual({
      type: 'application/x-www-form-urlencoded;charset=UTF-8',
      length: String(form.toString().length),
      body: form.toString(),
      auth: 'Basic eDp5',
    });
    expect([res.status, res.ok]).toEqual([400, false]);
    expect(await res.json()).toEqual({ error: 'invalid_grant' });
  });

  it('never follows a redirect: `manual` gets the 3xx, anything else fails as a network error', async () => {
    routes.set('/moved', (_req, res) => {
      res.writeHead(302, { location: '/doc' });
      res.end();
    });
    const manual = await leanFetch(`${base}/moved`, { redirect: 'manual' });
    expect([manual.status, manual.headers.get('location')]).toEqual([302, '/doc']);
    const followed = leanFetch(`${base}/moved`);
    await expect(followed).rejects.toThrow(TypeError);
    await expect(followed).rejects.toMatchObject({ message: 'fetch failed', cause: { message: 'redirect (HTTP 302) not followed' } });
  });

  it('fails as fetch does when nothing listens: TypeError "fetch failed" with the socket error as cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = leanFetch(`http://127.0.0.1:${port}/`);
    await expect(failure).rejects.toThrow(TypeError);
    await expect(failure).rejects.toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
  });

  it("rejects with the signal's reason when it aborts before the headers and while the body arrives", async () => {
    const waiting: ServerResponse[] = [];
    let arrived!: () => void;
    const headersPending = new Promise<void>((resolve) => (arrived = resolve));
    routes.set('/hang', (_req, res) => {
      waiting.push(res);
      arrived();
    });
    const early = new AbortController();
    const pending = leanFetch(`${base}/hang`, { signal: early.signal });
    await headersPending;
    const reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    early.abort(reason);
    await expect(pending).rejects.toBe(reason);

    let flushed!: () => void;
    const partSent = new Promise<void>((resolve) => (flushed = resolve));
    routes.set('/trickle', (_req, res) => {
      waiting.push(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":', flushed);
    });
    const late = new AbortController();
    const res = await leanFetch(`${base}/trickle`, { signal: late.signal });
    await partSent;
    const body = res.text();
    late.abort(reason);
    await expect(body).rejects.toBe(reason);
    for (const r of waiting) r.destroy();
  });

  it('a body cut off by the server is a network failure (TypeError), not a bare socket error', async () => {
    routes.set('/cut', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"par', () => res.destroy());
    });
    const res = await leanFetch(`${base}/cut`);
    await expect(res.text()).rejects.toMatchObject({ name: 'TypeError', message: 'fetch failed' });
  });

  it('serves boundedFetch: an endless answer stops at the limit (RESPONSE_TOO_LARGE) and the rest is not read', async () => {
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => (closed = resolve));
    routes.set('/endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', closed);
      pump();
    });
    await expect(boundedFetch(asFetch, 64 * 1024)(`${base}/endless`)).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
    await gone;
  });

  it('carries discovery (manual redirects within the origin) and keeps one connection alive across requests', async () => {
    const issuer = `${base}/realm`;
    const sockets = new Set<unknown>();
    routes.set('/realm/.well-known/openid-configuration', (req, res) => {
      sockets.add(req.socket);
      res.writeHead(301, { location: '/realm/moved/.well-known/openid-configuration' });
      res.end();
    });
    routes.set('/realm/moved/.well-known/openid-configuration', (req, res) => {
      sockets.add(req.socket);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token` }));
    });
    const doc = await fetchDiscovery({ issuer, fetch: boundedFetch(asFetch), timeoutMs: 30_000 });
    expect(doc.metadata.token_endpoint).toBe(`${issuer}/token`);
    expect(doc.redirects).toHaveLength(1);
    expect(sockets.size).toBe(1);
  });

  it('answers are LeanResponses that boundedFetch can rebuild and clone once read', async () => {
    routes.set('/small', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"keys":[]}');
    });
    const res = await boundedFetch(asFetch)(`${base}/small`);
    expect(res).toBeInstanceOf(Response);
    const lean = new LeanResponse(Buffer.from('{"keys":[]}'), { status: 200, headers: res.headers as unknown as LeanHeaders });
    expect(await lean.clone().json()).toEqual({ keys: [] });
    expect(await lean.json()).toEqual({ keys: [] });
    expect(Object.prototype.toString.call(lean)).toBe('[object Response]');
  });

  it('an idle kept-alive connection does not keep a finished process alive', async () => {
    routes.set('/alive', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'keep-alive': 'timeout=600' });
      res.end('{}');
    });
    const script = `import { leanFetch } from ${JSON.stringify(new URL('../../src/net/lean-fetch.ts', import.meta.url).pathname)};
      const res = await leanFetch(${JSON.stringify(`${base}/alive`)}); await res.json(); process.stdout.write('done');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c));
    // The server keeps the connection open (600 s); the child must exit on its own regardless.
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect({ code, out }, err).toEqual({ code: 0, out: 'done' });
  });

  it("checks an https provider's certificate as Node's fetch does: refused when unknown, accepted through NODE_EXTRA_CA_CERTS", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-lean-tls-'));
    const tls = createTlsServer();
    try {
      const made = spawnSync('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]);
      expect(made.status, String(made.stderr)).toBe(0);
      tls.setSecureContext({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) });
      tls.on('request', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"tls":true}');
      });
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/`;
      // This process trusts Node's CA list only.
      await expect(leanFetch(url)).rejects.toMatchObject({ message: 'fetch failed', cause: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } });
      const script = `import { leanFetch } from ${JSON.stringify(new URL('../../src/net/lean-fetch.ts', import.meta.url).pathname)};
        process.stdout.write(await (await leanFetch(${JSON.stringify(url)})).text());`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c));
      child.stderr.on('data', (c: Buffer) => (err += c));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect({ code, out }, err).toEqual({ code: 0, out: '{"tls":true}' });
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
