import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** What a GET for the start link came to. */
export type StartOutcome = 'redirected' | 'reused';

/** A page for the browser: status, title, message (rendered and sent by the listener). */
export type SendPage = (res: ServerResponse, status: number, title: string, message: string) => void;

/**
 * The one-time `/start/<random>` path a launched browser is given instead of the authorization URL,
 * whose state, nonce and PKCE challenge would otherwise sit in the browser's argv, readable by every
 * user of the machine. The first GET from this user's processes is redirected to the target; the
 * link is dead after that. A second GET means another client had it too, which the listener treats
 * as a failed sign-in. The random part protects nothing once read from `ps`; what protects is that
 * it works once, and (on Linux) only for connections owned by this user or root (the listener asks
 * src/core/loopback-peer.ts before it answers the link or takes a callback).
 */
export class StartLink {
  #path: string | undefined;
  #target: string | undefined;
  #used = false;

  constructor(private readonly origin: string) {}

  /** Makes `target` reachable once, through the returned `http://127.0.0.1:PORT/start/…` URL. */
  offer(target: string): string {
    this.#path = `/start/${randomBytes(32).toString('base64url')}`;
    this.#target = target;
    this.#used = false;
    return `${this.origin}${this.#path}`;
  }

  /** True when `requestPath` is the offered link (compared in constant time). */
  matches(requestPath: string): boolean {
    if (this.#path === undefined) return false;
    const a = Buffer.from(requestPath);
    const b = Buffer.from(this.#path);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Answers a GET for the link (after the listener's owner, Host and method checks). */
  answer(res: ServerResponse, sendPage: SendPage): StartOutcome {
    if (this.#used) {
      sendPage(
        res,
        410,
        'Link already used',
        'This sign-in link works once and was already opened, perhaps by someone else on this machine. Check the terminal.',
      );
      return 'reused';
    }
    this.#used = true;
    res.writeHead(302, { Location: this.#target!, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'Content-Length': '0' });
    res.end();
    return 'redirected';
  }
}
