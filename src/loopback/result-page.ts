import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The pages the loopback listener answers with: the result of the sign-in, and refusals at the socket level. */

/** What the browser is told once the login flow knows how the sign-in ended. */
export type CallbackResult = { ok: true; title: string; message: string } | { ok: false; title: string; message: string };

/** The one accepted redirect; its HTTP response stays open until `respond` is called. */
const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Type': 'text/html; charset=utf-8',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
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

export function sendPage(res: ServerResponse, status: number, result: CallbackResult, extra: Record<string, string> = {}): void {
  const body = renderResultPage(result);
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Length': String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

export function answerBrokenRequest(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const [status, reason] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  answerOnSocket(socket, status, reason);
}

/** Answers outside the request handler (parse errors, CONNECT), then lets the socket go. */
export function answerOnSocket(socket: Socket, status: number, reason: string, extra = ''): void {
  const body = renderResultPage({ ok: false, title: reason, message: 'The request could not be processed.' });
  const head = Object.entries(SECURITY_HEADERS)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n${head}${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // end() lets the reply drain before the socket goes; destroy later in case the peer never closes.
  setTimeout(() => socket.destroy(), 1000).unref();
}
