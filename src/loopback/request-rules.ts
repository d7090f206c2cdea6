import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { StartLink } from './start-link.js';

/**
 * What the loopback listener answers a request with, before anything is handed out: the right
 * Host, a URL of sane length, the callback path or the one-time start link, GET, and exactly the
 * expected `state` (compared in constant time). Who may ask at all is the core's rule
 * (src/core/loopback-peer.ts), asked by the server after these refusals, which give nothing away.
 */

const MAX_URL_CHARS = 8 * 1024;

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

export type Verdict =
  | { kind: 'callback'; url: URL }
  | { kind: 'start' }
  | { kind: 'reject'; status: number; title: string; message: string; headers?: Record<string, string> };

export function classify(req: IncomingMessage, expectedHost: string, path: string, expectedState: string, start: StartLink): Verdict {
  // A page on another origin that rebinds its DNS name to 127.0.0.1 still sends its own Host.
  const hostCount = req.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host').length;
  if (hostCount !== 1 || req.headers.host !== expectedHost) {
    return {
      kind: 'reject',
      status: 421,
      title: 'Misdirected request',
      message: 'This listener only answers requests for its own address.',
    };
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
