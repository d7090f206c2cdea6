import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

/** What came back on one connection: the status line's code, or nothing. */
export interface Reply {
  /** Undefined when the connection ended without a status line. */
  status: number | undefined;
  headers: string;
  body: string;
  /** A socket error seen on the way (ECONNRESET, EPIPE …), if any. */
  error?: string;
  timedOut?: boolean;
}

const REPLY_LIMIT_MS = 15_000;

/**
 * Writes `bytes` as-is on a fresh connection to 127.0.0.1 and reads one HTTP response. Used for
 * requests node:http refuses to produce: bad methods, duplicate or missing Host, garbage, 64 KB lines.
 */
export function sendRaw(port: number, bytes: string | Buffer, opts: { head?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let done = false;
    const finish = (timedOut = false): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseReply(Buffer.concat(chunks).toString('latin1')), ...(error ? { error } : {}), ...(timedOut ? { timedOut } : {}) });
    };
    const timer = setTimeout(() => finish(true), REPLY_LIMIT_MS);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (isComplete(Buffer.concat(chunks).toString('latin1'), opts.head ?? false)) finish();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => finish());
    socket.write(bytes);
  });
}

/** One well-formed request through node:http (fresh connection, exact Host header). */
export function sendHttp(port: number, opts: { method: string; path: string; host: string }): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: opts.method, path: opts.path, agent: false, headers: { host: opts.host } },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, headers: JSON.stringify(res.headers), body }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: res.statusCode, headers: '', body, error: e.code ?? e.message }));
      },
    );
    req.setTimeout(REPLY_LIMIT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: undefined, headers: '', body: '', error: e.code ?? e.message }));
    req.end();
  });
}

/** Drops interim 1xx responses (e.g. `100 Continue`) in front of the final one. */
function finalResponse(text: string): string {
  while (/^HTTP\/1\.[01] 1\d\d /.test(text) && text.includes('\r\n\r\n')) text = text.slice(text.indexOf('\r\n\r\n') + 4);
  return text;
}

function parseReply(all: string): Omit<Reply, 'error'> {
  const text = finalResponse(all);
  const end = text.indexOf('\r\n\r\n');
  const headers = end < 0 ? text : text.slice(0, end);
  const status = /^HTTP\/1\.[01] (\d{3}) /.exec(text)?.[1];
  return { status: status ? Number(status) : undefined, headers, body: end < 0 ? '' : text.slice(end + 4) };
}

function isComplete(all: string, head: boolean): boolean {
  const text = finalResponse(all);
  if (/^HTTP\/1\.[01] 1\d\d /.test(text)) return false;
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  if (head) return true;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
  return length !== undefined && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(length);
}

/** A client that connects and never finishes its request. */
export interface SlowClient {
  readonly kind: string;
  readonly openedAt: number;
  /** Resolves when the listener ends the connection: with its answer (408) or with nothing. */
  readonly ended: Promise<{ status: number | undefined; closedAt: number }>;
  destroy(): void;
}

export type SlowKind = 'silent' | 'half-request-line' | 'unfinished-headers' | 'trickle';
export const SLOW_KINDS: readonly SlowKind[] = ['silent', 'half-request-line', 'unfinished-headers', 'trickle'];

/**
 * Opens a connection that stalls in the middle of a request: nothing at all, half a request line,
 * headers without the blank line, or one header byte every 300 ms (slowloris).
 */
export function openSlowClient(port: number, kind: SlowKind, state: string): SlowClient {
  const openedAt = Date.now();
  const socket: Socket = connect({ host: '127.0.0.1', port });
  let received = '';
  let trickle: NodeJS.Timeout | undefined;
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => {});
  const ended = new Promise<{ status: number | undefined; closedAt: number }>((resolve) => {
    socket.on('close', () => {
      clearInterval(trickle);
      resolve({ status: parseReply(received).status, closedAt: Date.now() });
    });
  });
  const host = `Host: 127.0.0.1:${port}\r\n`;
  if (kind === 'half-request-line') socket.write(`GET /callback?code=x&sta`);
  if (kind === 'unfinished-headers') socket.write(`GET /callback?code=x&state=${state} HTTP/1.1\r\n${host}Accept: text/html`);
  if (kind === 'trickle') {
    socket.write(`GET /callback?code=x&state=${state} HTTP/1.1\r\n${host}X-Slow: `);
    trickle = setInterval(() => socket.write('a'), 300);
  }
  return { kind, openedAt, ended, destroy: () => socket.destroy() };
}

/** True when a TCP connect to 127.0.0.1:port is refused (nothing listens there any more). */
export function isRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * The local addresses listening on `port`, read from /proc/net/tcp and tcp6 (Linux), e.g.
 * `['127.0.0.1']`; undefined where /proc is not available. Reads the kernel's table instead of
 * connecting to a non-loopback address.
 */
export function listeningAddresses(port: number): string[] | undefined {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let table: string;
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      if (file === '/proc/net/tcp') return undefined;
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      const [, local, , st] = line.trim().split(/\s+/);
      if (!local || st !== '0A') continue;
      const [addr = '', portHex = ''] = local.split(':');
      if (parseInt(portHex, 16) === port) found.push(decodeProcAddress(addr));
    }
  }
  return found;
}

function decodeProcAddress(hex: string): string {
  if (hex.length === 8) {
    // Little-endian IPv4 on the hosts /proc is read from here.
    return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  }
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const w = hex.slice(i, i + 8);
    words.push(w.slice(6, 8) + w.slice(4, 6), w.slice(2, 4) + w.slice(0, 2));
  }
  return words.map((w) => w.replace(/^0{1,3}/, '')).join(':');
}
