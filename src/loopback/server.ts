import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { CancelledError, UsageError, XtalkError } from '../errors.js';
import { StartLink } from './start-link.js';

/** What the browser is told once the login flow knows how the sign-in ended. */
export type CallbackResult =
  | { ok: true; title: string; message: string }
  | { ok: false; title: string; message: string };

/** The one accepted redirect; its HTTP response stays open until `respond` is called. */
export interface CallbackRequest {
  /** The full redirect URL, e.g. `http://127.0.0.1:PORT/callback?code=…&state=…`. */
  url: URL;
  /** Sends the result page to the browser, then closes the listener. Later calls do nothing. */
  respond(result: CallbackResult): Promise<void>;
}

/** A listener bound to 127.0.0.1 that accepts exactly one authorization redirect. */
export interface CallbackServer {
  port: number;
  /** `http://127.0.0.1:PORT/callback` — register loopback redirects with the IP, not `localhost`. */
  redirectUri: string;
  /**
   * Resolves with the redirect carrying the expected `state` (also when it carries `error=`).
   * Rejects on timeout (XtalkError, exit 1), on abort (CancelledError) or when closed first.
   */
  waitForCallback(): Promise<CallbackRequest>;
  /**
   * A one-time `http://127.0.0.1:PORT/start/<random>` to hand a browser instead of `target` (see
   * StartLink), so the state, nonce and PKCE challenge stay out of its argv. A second request for
   * it ends the wait with an error: someone else may have opened it first.
   */
  offerStart(target: string): string;
  /** Stops listening and drops every connection; idempotent. */
  close(): Promise<void>;
}

export interface CallbackServerOptions {
  /** 0 (the default) lets the system pick a free port. */
  port?: number;
  /** Defaults to `/callback`. */
  path?: string;
  expectedState: string;
  signal?: AbortSignal;
  /** Defaults to 300 s; `Infinity` waits forever. */
  timeoutMs?: number;
  /** What the timeout error names and suggests; defaults to the sign-in and `xtalk login`. */
  timeoutText?: { what: string; hint: string };
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_URL_CHARS = 8 * 1024;
// Short enough that a client which never finishes its request cannot pin the listener.
const SLOW_CLIENT_MS = 10_000;
const FORCE_CLOSE_MS = 500;
const DEFAULT_TIMEOUT_MS = 300_000;
const MAX_TIMER_MS = 2_147_483_647;

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Type': 'text/html; charset=utf-8',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
} as const;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** A small self-contained page (no scripts, no external resources); all text is escaped. */
export function renderResultPage(result: CallbackResult): string {
  const title = escapeHtml(result.title);
  const message = escapeHtml(result.message);
  const accent = result.ok ? '#1a7f37' : '#cf222e';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · xtalk</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:15vh auto;padding:0 1rem;color:#1f2328}h1{font-size:1.4rem;color:${accent}}</style>
</head><body><h1>${title}</h1><p>${message}</p></body></html>
`;
}

function sendPage(res: ServerResponse, status: number, result: CallbackResult, extra: Record<string, string> = {}): void {
  const body = renderResultPage(result);
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Length': String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the redirect carries exactly one `state`, equal to the expected one (constant-time). */
export function hasExpectedState(url: URL, expectedState: string): boolean {
  const states = url.searchParams.getAll('state');
  return states.length === 1 && sameSecret(states[0] ?? '', expectedState);
}

type Verdict = { kind: 'callback'; url: URL } | { kind: 'start' } | { kind: 'reject'; status: number; title: string; message: string; headers?: Record<string, string> };

function classify(req: IncomingMessage, expectedHost: string, path: string, expectedState: string, start: StartLink): Verdict {
  // A page on another origin that rebinds its DNS name to 127.0.0.1 still sends its own Host.
  const hostCount = req.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host').length;
  if (hostCount !== 1 || req.headers.host !== expectedHost) {
    return { kind: 'reject', status: 421, title: 'Misdirected request', message: 'This listener only answers requests for its own address.' };
  }
  const rawUrl = req.url ?? '';
  if (rawUrl.length > MAX_URL_CHARS) {
    return { kind: 'reject', status: 414, title: 'URI too long', message: 'The request URL is too long.' };
  }
  const requestPath = rawUrl.split('?', 1)[0] ?? '';
  const isStart = start.matches(requestPath);
  if (requestPath !== path && !isStart) {
    return { kind: 'reject', status: 404, title: 'Not found', message: 'Nothing here.' };
  }
  if (req.method !== 'GET') {
    return { kind: 'reject', status: 405, title: 'Method not allowed', message: 'Only GET is accepted here.', headers: { Allow: 'GET' } };
  }
  if (isStart) return { kind: 'start' };
  const url = new URL(`http://${expectedHost}${rawUrl}`);
  // An unexpected state is a stale tab or a forged request: refuse it but keep waiting for the real one.
  if (!hasExpectedState(url, expectedState)) {
    return {
      kind: 'reject',
      status: 400,
      title: 'Unexpected sign-in response',
      message: 'This response does not belong to the sign-in xtalk is waiting for. Go back to the terminal and follow the link it printed.',
    };
  }
  return { kind: 'callback', url };
}

function bindError(err: NodeJS.ErrnoException, port: number): XtalkError {
  const hint = 'Choose another port with --port or XTALK_PORT, or use 0 to let the system pick a free one.';
  if (err.code === 'EADDRINUSE') return new XtalkError(`Port ${port} on 127.0.0.1 is already in use.`, { hint, cause: err });
  if (err.code === 'EACCES') return new XtalkError(`Not allowed to listen on port ${port} on 127.0.0.1.`, { hint, cause: err });
  return new XtalkError(`Could not listen on 127.0.0.1:${port}: ${err.message}`, { hint, cause: err });
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return String(Number.isInteger(s) ? s : Number(s.toFixed(1)));
}

function answerBrokenRequest(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const [status, reason] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout']
    : [400, 'Bad Request'];
  answerOnSocket(socket, status, reason);
}

/** Answers outside the request handler (parse errors, CONNECT), then lets the socket go. */
function answerOnSocket(socket: Socket, status: number, reason: string, extra = ''): void {
  const body = renderResultPage({ ok: false, title: reason, message: 'The request could not be processed.' });
  const head = Object.entries(SECURITY_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${head}${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  // end() lets the reply drain before the socket goes; destroy later in case the peer never closes.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Binds 127.0.0.1 and keeps that socket until the one callback has been answered, so the port in
 * the redirect URI can never be taken by another process between "check" and "use".
 * Call this before anything opens a browser.
 */
export async function startCallbackServer(opts: CallbackServerOptions): Promise<CallbackServer> {
  const path = opts.path ?? '/callback';
  const requestedPort = opts.port ?? 0;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw new UsageError(`Invalid port ${requestedPort}.`, 'Use a port between 1 and 65535 with --port or XTALK_PORT, or 0 for any free port.');
  }
  if (!(timeoutMs > 0)) throw new UsageError(`Invalid timeout ${timeoutMs} ms.`, 'Use a positive number of seconds with --timeout.');
  if (!path.startsWith('/')) throw new UsageError(`Invalid callback path ${path}.`);
  if (opts.signal?.aborted) throw new CancelledError();

  const server = createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: SLOW_CLIENT_MS,
    requestTimeout: SLOW_CLIENT_MS,
    // The timeouts above are only enforced on each check; the default check runs every 30 s.
    connectionsCheckingInterval: 1000,
    // Node's own answer to a missing Host is a bare 400; classify() answers it like any wrong Host.
    requireHostHeader: false,
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(bindError(err, requestedPort));
    server.once('error', onError);
    server.listen({ port: requestedPort, host: '127.0.0.1' }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {});

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : requestedPort;
  const expectedHost = `127.0.0.1:${port}`;
  const redirectUri = `http://${expectedHost}${path}`;

  let settled = false;
  let held: ServerResponse | undefined;
  let resolveWait!: (req: CallbackRequest) => void;
  let rejectWait!: (err: unknown) => void;
  const waiting = new Promise<CallbackRequest>((resolve, reject) => {
    resolveWait = resolve;
    rejectWait = reject;
  });
  // The caller may not be awaiting yet when a timeout or abort fires.
  waiting.catch(() => {});

  const fail = (err: XtalkError): void => {
    if (settled) return;
    settled = true;
    rejectWait(err);
  };

  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(timeoutMs)) {
    timer = setTimeout(() => {
      const text = opts.timeoutText ?? { what: 'the sign-in', hint: 'Run `xtalk login` again, or allow more time with --timeout <seconds>.' };
      fail(new XtalkError(`Timed out after ${formatSeconds(timeoutMs)} s waiting for ${text.what} to finish.`, { hint: text.hint }));
      void close();
    }, Math.min(timeoutMs, MAX_TIMER_MS));
  }
  const onAbort = (): void => {
    fail(new CancelledError());
    void close();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fail(new XtalkError('The sign-in listener was closed before the browser came back.'));
      if (held && !held.headersSent) {
        sendPage(held, 503, { ok: false, title: 'Sign-in did not finish', message: 'xtalk stopped waiting. Check the terminal for details.' }, { Connection: 'close' });
      }
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), FORCE_CLOSE_MS).unref();
    }));

  const respondTo = (res: ServerResponse): CallbackRequest['respond'] => {
    let responding: Promise<void> | undefined;
    return (result) =>
      (responding ??= (async () => {
        if (!res.headersSent && !res.destroyed) {
          await new Promise<void>((resolve) => {
            res.once('finish', resolve);
            res.once('close', resolve);
            // Connection: close so the browser does not keep an idle socket that delays close().
            sendPage(res, result.ok ? 200 : 400, result, { Connection: 'close' });
          });
        }
        await close();
      })());
  };

  const start = new StartLink(`http://${expectedHost}`);
  const reused = (): XtalkError =>
    new XtalkError('The one-time sign-in link xtalk gave the browser was opened twice, so someone else on this machine may have used it; the sign-in was stopped.', {
      hint: 'Run `xtalk login` again. If it happens again, another user of this machine may be watching your processes: run `xtalk login --no-browser` and paste the printed URL into your browser yourself.',
    });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const verdict = classify(req, expectedHost, path, opts.expectedState, start);
    if (verdict.kind === 'reject') {
      sendPage(res, verdict.status, { ok: false, title: verdict.title, message: verdict.message }, verdict.headers);
      return;
    }
    if (verdict.kind === 'start') {
      const outcome = start.answer(req, res, (r, status, title, message) => sendPage(r, status, { ok: false, title, message }));
      // The browser xtalk started asks once; a second request means another client had the link too.
      if (outcome === 'reused' && !settled) {
        fail(reused());
        void close();
      }
      return;
    }
    if (settled) {
      sendPage(res, 400, { ok: false, title: 'Already handled', message: 'This sign-in has already been answered. Check the terminal.' });
      return;
    }
    settled = true;
    held = res;
    clearTimeout(timer);
    resolveWait({ url: verdict.url, respond: respondTo(res) });
  });
  server.on('clientError', answerBrokenRequest);
  // Without a listener Node drops CONNECT silently; answer it like any other wrong method.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => answerOnSocket(socket, 405, 'Method Not Allowed', 'Allow: GET\r\n'));

  return { port, redirectUri, waitForCallback: () => waiting, offerStart: (target) => start.offer(target), close };
}
