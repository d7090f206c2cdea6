import { createRequire } from 'node:module';
import type * as Http from 'node:http';

const require = createRequire(import.meta.url);

/**
 * The part of the Fetch API the provider calls use (discovery, the provider's keys, the grants,
 * userinfo), over node:http and node:https instead of Node's fetch (undici). Only for the CLI's
 * dist/quick-net.cjs (`xtalk refresh`, and the refresh `xtalk token` hands over), whose build
 * injects these as the bundle's `fetch`, `Headers`, `Response` and `Request` (scripts/build.mjs):
 * loading undici and its web streams costs a run about 40 ms of CPU on a fast machine before the
 * first request (issue 26), more than half of a refresh's own time, and its HTTP parser is
 * WebAssembly, which V8 then optimises while Node waits to exit. The Node API and the full program
 * keep Node's fetch; a run behind a proxy keeps undici for that (src/net/proxy-fetch.ts), whose
 * answers are read into these classes by boundedFetch.
 *
 * What it does not do, on purpose: follow redirects (every provider call here asks for `manual`;
 * a `follow` request that meets one fails as a network error would), decompress (it asks for none),
 * take a Request as input, or stream a request body. Certificates are checked as Node's fetch
 * checks them: Node's CA list plus NODE_EXTRA_CA_CERTS.
 */

type HeadersInit = LeanHeaders | Iterable<readonly [string, string]> | Record<string, string>;

/** Case-insensitive headers, iterated in sorted lower-case order, several values joined by `, ` (as fetch's Headers). */
export class LeanHeaders {
  readonly #map = new Map<string, string>();

  constructor(init?: HeadersInit | null) {
    if (!init) return;
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const [name, value] of init as Iterable<readonly [string, string]>) this.append(name, value);
    } else {
      for (const [name, value] of Object.entries(init as Record<string, string>)) this.append(name, value);
    }
  }

  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.#map.set(name.toLowerCase(), String(value));
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const had = this.#map.get(key);
    this.#map.set(key, had === undefined ? String(value) : `${had}, ${value}`);
  }
  delete(name: string): void {
    this.#map.delete(name.toLowerCase());
  }
  forEach(fn: (value: string, name: string, headers: LeanHeaders) => void): void {
    for (const [name, value] of this) fn(value, name, this);
  }
  *entries(): IterableIterator<[string, string]> {
    yield* [...this.#map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }
  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  get [Symbol.toStringTag](): string {
    return 'Headers';
  }
}

/** Never made: inputs here are URLs (`instanceof Request` is simply false). */
export class LeanRequest {
  constructor() {
    throw new TypeError('This fetch takes a URL, not a Request.');
  }
}

interface Reader {
  read(): Promise<{ done: true; value: undefined } | { done: false; value: Uint8Array }>;
  cancel(): Promise<void>;
  releaseLock(): void;
}

/** A body: bytes at hand, or an answer still arriving (read once, through a reader, as fetch's). */
class LeanBody {
  constructor(
    readonly source: Buffer | Http.IncomingMessage,
    private readonly signal?: AbortSignal,
  ) {}

  getReader(): Reader {
    const source = this.source;
    if (Buffer.isBuffer(source)) {
      let read = false;
      return {
        read: async () => (read ? { done: true, value: undefined } : ((read = true), { done: false, value: source })),
        cancel: async () => {},
        releaseLock: () => {},
      };
    }
    const chunks = source[Symbol.asyncIterator]();
    return {
      read: async () => {
        try {
          const next = await chunks.next();
          return next.done ? { done: true, value: undefined } : { done: false, value: next.value as Buffer };
        } catch (e) {
          // As fetch: the signal's reason when it aborted, else a network failure (never a bare socket error).
          if (this.signal?.aborted) throw this.signal.reason;
          throw new TypeError('fetch failed', { cause: e });
        }
      },
      cancel: async () => {
        source.destroy();
      },
      releaseLock: () => {},
    };
  }

  async cancel(): Promise<void> {
    if (!Buffer.isBuffer(this.source)) this.source.destroy();
  }
}

type BodyInit = ArrayBuffer | ArrayBufferView | string | URLSearchParams;

export class LeanResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: LeanHeaders;
  readonly url: string;
  readonly redirected = false;
  readonly type = 'default';
  #body: LeanBody | null;
  #used = false;

  constructor(body?: BodyInit | LeanBody | null, init: { status?: number; statusText?: string; headers?: HeadersInit; url?: string } = {}) {
    this.status = init.status ?? 200;
    this.statusText = init.statusText ?? '';
    this.headers = new LeanHeaders(init.headers);
    this.url = init.url ?? '';
    this.#body = body == null ? null : body instanceof LeanBody ? body : new LeanBody(bytesOf(body));
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  get body(): LeanBody | null {
    return this.#body;
  }
  get bodyUsed(): boolean {
    return this.#used;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.#consume();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  async text(): Promise<string> {
    return (await this.#consume()).toString('utf8');
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  /** A copy of an answer whose bytes are at hand (boundedFetch's): one still arriving cannot be teed. */
  clone(): LeanResponse {
    if (this.#used) throw new TypeError('Response.clone: Body has already been consumed.');
    const source = this.#body?.source;
    if (source !== undefined && !Buffer.isBuffer(source)) throw new TypeError('Response.clone: the body is still arriving.');
    return new LeanResponse(source ?? null, { status: this.status, statusText: this.statusText, headers: this.headers, url: this.url });
  }
  get [Symbol.toStringTag](): string {
    return 'Response';
  }

  async #consume(): Promise<Buffer> {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    if (!this.#body) return Buffer.alloc(0);
    const reader = this.#body.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const next = await reader.read();
      if (next.done) return Buffer.concat(chunks);
      chunks.push(next.value);
    }
  }
}

function bytesOf(body: BodyInit): Buffer {
  if (typeof body === 'string' || body instanceof URLSearchParams) return Buffer.from(String(body), 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

interface LeanInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  redirect?: 'follow' | 'manual' | 'error';
  signal?: AbortSignal | null;
}

// One keep-alive agent per scheme: discovery, the keys and the grant share a connection, as with fetch.
const agents = new Map<string, Http.Agent>();

/**
 * fetch(url, init) over node:http(s). Rejects as Node's fetch does: with the signal's reason when
 * it aborts, and with `TypeError('fetch failed')` whose `cause` is the socket's error otherwise. It
 * resolves when the answer's headers arrive; the body is read (or cancelled) through `body`.
 */
export function leanFetch(input: string | URL, init: LeanInit = {}): Promise<LeanResponse> {
  if (typeof input !== 'string' && !(input instanceof URL)) return Promise.reject(new TypeError('This fetch takes a URL, not a Request.'));
  const url = new URL(String(input));
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return Promise.reject(new TypeError('fetch failed', { cause: new Error(`unsupported scheme ${url.protocol}`) }));
  const transport = require(url.protocol === 'https:' ? 'node:https' : 'node:http') as typeof Http;
  let agent = agents.get(url.protocol);
  if (!agent) {
    // Node's agent unrefs a socket while it waits idle for the next request: a finished run exits.
    agent = new transport.Agent({ keepAlive: true });
    agents.set(url.protocol, agent);
  }
  const headers = new LeanHeaders(init.headers);
  const body = init.body == null ? undefined : bytesOf(init.body);
  if (init.body instanceof URLSearchParams && !headers.has('content-type'))
    headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
  if (body) headers.set('content-length', String(body.length));
  if (!headers.has('accept')) headers.set('accept', '*/*');
  if (!headers.has('user-agent')) headers.set('user-agent', 'node');
  const signal = init.signal ?? undefined;
  return new Promise<LeanResponse>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const req = transport.request(url, { method: init.method ?? 'GET', headers: Object.fromEntries(headers), agent }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && init.redirect !== 'manual') {
        res.destroy();
        reject(new TypeError('fetch failed', { cause: new Error(`redirect (HTTP ${status}) not followed`) }));
        return;
      }
      const answerHeaders = new LeanHeaders();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) answerHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      // A body still arriving fails its reader with the abort, as fetch's does.
      const onBodyAbort = () => res.destroy();
      signal?.addEventListener('abort', onBodyAbort, { once: true });
      res.on('close', () => signal?.removeEventListener('abort', onBodyAbort));
      resolve(
        new LeanResponse(new LeanBody(res, signal), { status, statusText: res.statusMessage ?? '', headers: answerHeaders, url: url.href }),
      );
    });
    const onAbort = () => {
      req.destroy();
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', (e) => reject(new TypeError('fetch failed', { cause: e })));
    req.end(body);
  });
}
