import type { Readable } from 'node:stream';
import { XtalkError } from '../../errors.js';
import { hasExpectedState } from '../../loopback/request-rules.js';
import type { Ui } from '../../output/ui.js';

export interface PasteOptions {
  stdin: Readable;
  ui: Ui;
  /** The registered redirect URI (`http://127.0.0.1:PORT/callback`) the pasted parameters belong to. */
  redirectUri: string;
  expectedState: string;
  /** `--manual`: the end of stdin without a matching address is an error. Otherwise reading just stops. */
  failAtEnd: boolean;
}

export interface PasteReader {
  /** The pasted redirect, rebuilt on the redirect URI, once one with the expected state arrives. */
  result: Promise<URL>;
  /** Stops reading stdin; the result then never settles. Idempotent. */
  stop(): void;
}

// Far longer than any redirect address; a stream without newlines must not grow without bound.
const MAX_LINE_CHARS = 64 * 1024;
const PROMPT = 'Paste the address and press Enter:';

/**
 * Turns a pasted line into the callback URL: the whole address from the address bar, or just its
 * query (with or without `?`). Only the query is kept and put on `redirectUri`, so what goes to the
 * token endpoint as `redirect_uri` is always the one this sign-in registered. Undefined for a blank
 * line; throws XtalkError when the line is no redirect at all.
 */
export function parsePastedCallback(line: string, redirectUri: string): URL | undefined {
  const text = line.trim().replace(/^["'<]+|["'>]+$/g, '');
  if (!text) return undefined;
  let params: URLSearchParams;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    try {
      params = new URL(text).searchParams;
    } catch {
      throw notARedirect();
    }
  } else {
    params = new URLSearchParams(text.replace(/^[^?]*\?/, ''));
  }
  if (!params.has('state') || !(params.has('code') || params.has('error'))) throw notARedirect();
  const url = new URL(redirectUri);
  url.search = params.toString();
  return url;
}

function notARedirect(): XtalkError {
  return new XtalkError('ERROR', 'That is not the redirected address: it needs the code (or error) and state parameters.', {
    facts: { reason: 'not_a_redirect' },
  });
}

/**
 * Reads lines from stdin (a terminal or a pipe) until one is a redirect for this sign-in. A line
 * with another `state` is refused with a message and the prompt repeats; nothing is sent to the
 * provider for it.
 */
export function readPastedCallback(opts: PasteOptions): PasteReader {
  const { stdin, ui } = opts;
  const decoder = new TextDecoder();
  let buffered = '';
  let refused = 0;
  let stopped = false;
  let resolve!: (url: URL) => void;
  let reject!: (err: unknown) => void;
  const result = new Promise<URL>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  result.catch(() => {});

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.off('error', onEnd);
    stdin.pause();
  };
  const consider = (line: string): void => {
    let url: URL | undefined;
    try {
      url = parsePastedCallback(line, opts.redirectUri);
    } catch (e) {
      refused++;
      ui.error((e as XtalkError).message, (e as XtalkError).hint);
      ui.info(PROMPT);
      return;
    }
    if (!url) return;
    if (!hasExpectedState(url, opts.expectedState)) {
      refused++;
      ui.error(
        'The pasted address does not belong to this sign-in (its state does not match).',
        'Paste the address from the sign-in that started at the URL above; an older tab or another sign-in will not do.',
      );
      ui.info(PROMPT);
      return;
    }
    stop();
    resolve(url);
  };
  function onData(chunk: Buffer | string): void {
    buffered += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline: number;
    while (!stopped && (newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      consider(line);
    }
    if (buffered.length > MAX_LINE_CHARS) buffered = '';
  }
  function onEnd(): void {
    if (stopped) return;
    if (buffered) consider(buffered);
    if (stopped) return;
    stop();
    if (!opts.failAtEnd) return;
    reject(
      new XtalkError(
        'ERROR',
        refused
          ? 'No address pasted on standard input belonged to this sign-in.'
          : 'Standard input ended before the redirected address was pasted.',
        { facts: { reason: 'paste_ended', redirectUri: opts.redirectUri } },
      ),
    );
  }

  ui.info(PROMPT);
  if (stdin.readableEnded) onEnd();
  else {
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onEnd);
    stdin.resume();
  }
  return { result, stop };
}
