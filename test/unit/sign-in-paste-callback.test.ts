import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parsePastedCallback, readPastedCallback } from '../../src/auth/sign-in/paste-callback.js';
import { createUi } from '../../src/output/ui.js';
import { CaptureStream } from '../fakes/streams.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const QUERY = 'code=abc&state=s1&iss=https%3A%2F%2Fidp.example';

describe('parsePastedCallback', () => {
  it.each([
    [`${REDIRECT}?${QUERY}`],
    [`  "${REDIRECT}?${QUERY}"  `],
    [`<${REDIRECT}?${QUERY}>`],
    [`?${QUERY}`],
    [QUERY],
    [`/callback?${QUERY}`],
  ])('accepts %j and puts the query on the registered redirect URI', (line) => {
    const url = parsePastedCallback(line, REDIRECT)!;
    expect(url.origin + url.pathname).toBe(REDIRECT);
    expect(Object.fromEntries(url.searchParams)).toEqual({ code: 'abc', state: 's1', iss: 'https://idp.example' });
  });

  it('takes only the query from an address on another host, so redirect_uri is always ours', () => {
    const url = parsePastedCallback(`http://localhost:9999/elsewhere?${QUERY}`, REDIRECT)!;
    expect(url.href).toBe(`${REDIRECT}?${QUERY}`);
  });

  it('accepts an error redirect, ignores a blank line, refuses what is no redirect', () => {
    expect(parsePastedCallback('error=access_denied&state=s1', REDIRECT)?.searchParams.get('error')).toBe('access_denied');
    expect(parsePastedCallback('   ', REDIRECT)).toBeUndefined();
    expect(() => parsePastedCallback('hello', REDIRECT)).toThrow(/code \(or error\) and state/);
    expect(() => parsePastedCallback('code=abc', REDIRECT)).toThrow(/state/);
    expect(() => parsePastedCallback('https://[bad/?code=1&state=2', REDIRECT)).toThrow();
  });
});

function reader(failAtEnd: boolean) {
  const stdin = new PassThrough();
  const stderr = new CaptureStream();
  const ui = createUi({ stdin, stdout: new CaptureStream(), stderr, stdinIsTTY: false, stderrIsTTY: false }, {});
  const paste = readPastedCallback({ stdin, ui, redirectUri: REDIRECT, expectedState: 'the-state', failAtEnd });
  return { stdin, stderr, paste };
}

describe('readPastedCallback', () => {
  it('refuses an address with another state, prompts again, and takes the matching one', async () => {
    const { stdin, stderr, paste } = reader(true);
    stdin.write(`${REDIRECT}?code=old&state=other-state\n`);
    stdin.write('not a url\r\n');
    stdin.write(`${REDIRECT}?code=new&state=the-state&iss=x\r\n`);
    const url = await paste.result;
    expect(url.searchParams.get('code')).toBe('new');
    expect(stderr.text).toContain('does not belong to this sign-in');
    expect(stderr.text.match(/Paste the address and press Enter:/g)).toHaveLength(3);
    expect(stderr.text).not.toContain('code=old');
  });

  it('takes a line split across chunks and one without a final newline', async () => {
    const { stdin, paste } = reader(true);
    stdin.write(`${REDIRECT}?code=c&st`);
    stdin.end('ate=the-state');
    expect((await paste.result).searchParams.get('code')).toBe('c');
  });

  it('with --manual, the end of stdin is an error naming what went wrong', async () => {
    const a = reader(true);
    a.stdin.end();
    await expect(a.paste.result).rejects.toThrow('Standard input ended before the redirected address was pasted.');
    const b = reader(true);
    b.stdin.end(`${REDIRECT}?code=x&state=wrong\n`);
    await expect(b.paste.result).rejects.toThrow('No address pasted on standard input belonged to this sign-in.');
  });

  it('otherwise the end of stdin only stops reading', async () => {
    const { stdin, paste } = reader(false);
    stdin.end();
    const outcome = await Promise.race([
      paste.result.then(
        () => 'settled',
        () => 'settled',
      ),
      new Promise((r) => setTimeout(() => r('pending'), 50)),
    ]);
    expect(outcome).toBe('pending');
  });

  it('stop() detaches from stdin', async () => {
    const { stdin, paste } = reader(true);
    paste.stop();
    expect(stdin.listenerCount('data')).toBe(0);
    expect(stdin.isPaused()).toBe(true);
  });
});
