import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { LoopbackPeerRefusal } from '../core/loopback-peer.js';
import { CancelledError, UsageError, XtalkError, type FactsOf } from '../errors.js';
import { LOOPBACK_PEER_PAGE } from '../hint-words.js';
import { judgeConnection, type ReadTable } from './peer-owner.js';
import { answerBrokenRequest, answerOnSocket, sendPage, type CallbackResult } from './result-page.js';
import { classify } from './request-rules.js';
import { StartLink } from './start-link.js';

export { escapeHtml, renderResultPage } from './result-page.js';

export type { CallbackResult } from './result-page.js';

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
  /** What the timeout error (code TIMEOUT) names, and its facts for the hint; defaults to the sign-in. */
  timeoutText?: { what: string; facts?: FactsOf<'TIMEOUT'> };
  /**
   * Told about every connection the loopback rule refused (another user's, or one whose owner is
   * unknown; error code LOOPBACK_PEER_REFUSED with facts `reason`, `peerUid`). The browser gets a
   * 403 page; the wait goes on, so the link stays usable for the user who runs xtalk.
   */
  onRefusedPeer?: (refusal: XtalkError) => void;
  /** Tests only: the platform and socket tables the peer's owner is looked up in. */
  peerLookup?: { platform: NodeJS.Platform; readTable?: ReadTable };
}

const MAX_HEADER_BYTES = 16 * 1024;
// Short enough that a client which never finishes its request cannot pin the listener.
const SLOW_CLIENT_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 300_000;
const MAX_TIMER_MS = 2_147_483_647;

function refusedPeer(reason: LoopbackPeerRefusal, peerUid: number | undefined, port: number): XtalkError {
  const who = reason === 'other-user' ? `another user of this machine (uid ${peerUid})` : 'a process whose owner could not be found';
  return new XtalkError('LOOPBACK_PEER_REFUSED', `xtalk's listener on 127.0.0.1:${port} refused a connection from ${who}.`, {
    facts: { reason, peerUid },
  });
}

function bindError(err: NodeJS.ErrnoException, port: number): XtalkError {
  const facts = { port };
  if (err.code === 'EADDRINUSE')
    return new XtalkError('PORT_IN_USE', `Port ${port} on 127.0.0.1 is already in use.`, { facts, cause: err });
  if (err.code === 'EACCES')
    return new XtalkError('PORT_UNAVAILABLE', `Not allowed to listen on port ${port} on 127.0.0.1.`, { facts, cause: err });
  return new XtalkError('PORT_UNAVAILABLE', `Could not listen on 127.0.0.1:${port}: ${err.message}`, { facts, cause: err });
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return String(Number.isInteger(s) ? s : Number(s.toFixed(1)));
}

/** Runs `send` (which ends `res`), resolving once the answer is handed to the kernel or the socket is gone. */
function flushed(res: ServerResponse, send: () => void): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
    send();
  });
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
    throw new UsageError('PORT_INVALID', `Invalid port ${requestedPort}.`);
  }
  if (!(timeoutMs > 0)) throw new UsageError('TIMEOUT_INVALID', `Invalid timeout ${timeoutMs} ms.`);
  if (!path.startsWith('/')) throw new UsageError('USAGE', `Invalid callback path ${path}.`);
  if (opts.signal?.aborted) throw new CancelledError('CANCELLED', 'Cancelled.');

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
    timer = setTimeout(
      () => {
        const text = opts.timeoutText ?? { what: 'the sign-in' };
        fail(
          new XtalkError('TIMEOUT', `Timed out after ${formatSeconds(timeoutMs)} s waiting for ${text.what} to finish.`, {
            facts: text.facts,
          }),
        );
        void close();
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
  }
  const onAbort = (): void => {
    fail(new CancelledError('CANCELLED', 'Cancelled.'));
    void close();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fail(new XtalkError('ERROR', 'The sign-in listener was closed before the browser came back.'));
      if (held && !held.headersSent) {
        const res = held;
        await flushed(res, () =>
          sendPage(
            res,
            503,
            { ok: false, title: 'Sign-in did not finish', message: 'xtalk stopped waiting. Check the terminal for details.' },
            { Connection: 'close' },
          ),
        );
      } else if (held) {
        await flushed(held, () => {});
      }
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // The answer is with the kernel, which still delivers it after its socket is closed: every
      // socket goes now (the callback's, which the browser may keep half-open for hundreds of ms
      // after `Connection: close`, and any idle or preconnected one) instead of being waited for.
      server.closeAllConnections();
      await stopped;
    })());

  const respondTo = (res: ServerResponse): CallbackRequest['respond'] => {
    let responding: Promise<void> | undefined;
    return (result) =>
      (responding ??= (async () => {
        if (!res.headersSent && !res.destroyed) {
          // Connection: close, so the browser does not reuse the socket close() is about to close.
          await flushed(res, () => sendPage(res, result.ok ? 200 : 400, result, { Connection: 'close' }));
        }
        await close();
      })());
  };

  const start = new StartLink(`http://${expectedHost}`);
  const reused = (): XtalkError =>
    new XtalkError(
      'SIGN_IN_LINK_REUSED',
      'The one-time sign-in link xtalk gave the browser was opened twice, so someone else on this machine may have used it; the sign-in was stopped.',
    );

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const verdict = classify(req, expectedHost, path, opts.expectedState, start);
    // Refusals that hand out nothing (wrong Host, path, method or state) need not know who asked,
    // and must not cost a read of the whole socket table each: any local process could keep the
    // listener busy with them.
    if (verdict.kind === 'reject') {
      sendPage(res, verdict.status, { ok: false, title: verdict.title, message: verdict.message }, verdict.headers);
      return;
    }
    // Before the start link redirects (state, nonce, PKCE challenge; the ID token on sign-out) or
    // a callback is taken: another local user gets neither, and cannot use up the link.
    const peer = judgeConnection(req.socket, opts.peerLookup?.platform, opts.peerLookup?.readTable);
    if (!peer.allowed) {
      sendPage(res, 403, { ok: false, title: 'Forbidden', message: LOOPBACK_PEER_PAGE[peer.reason] }, { Connection: 'close' });
      opts.onRefusedPeer?.(refusedPeer(peer.reason, peer.peerUid, port));
      return;
    }
    if (verdict.kind === 'start') {
      const outcome = start.answer(res, (r, status, title, message) => sendPage(r, status, { ok: false, title, message }));
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
