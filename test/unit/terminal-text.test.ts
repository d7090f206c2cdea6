import { describe, expect, it } from 'vitest';
import { createUi } from '../../src/output/ui.js';
import { join } from 'node:path';
import { run } from '../../src/cli/run.js';
import { escapeTerminalText as sanitize, toSafeJson } from '../../src/core/terminal-text.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';
import { CaptureStream, createStdin } from '../fakes/streams.js';

describe('terminal output of provider-supplied text', () => {
  it('escapes control and bidi characters but keeps newlines, tabs and Unicode', () => {
    expect(sanitize('a\u001b[2Jb')).toBe('a\\u001b[2Jb');
    expect(sanitize('evil\u202egnp.exe')).toBe('evil\\u202egnp.exe');
    expect(sanitize('line1\n\tline2 — ünïcødé ✓')).toBe('line1\n\tline2 — ünïcødé ✓');
    expect(sanitize('a\u0085b\u009bc\u2028d\u2029e\u061cf\u200eg')).toBe('a\\u0085b\\u009bc\\u2028d\\u2029e\\u061cf\\u200eg');
  });

  it('applies to every human line and to data, not to JSON', () => {
    const stdout = new CaptureStream();
    const stderr = new CaptureStream();
    const ui = createUi({ stdin: createStdin(), stdout, stderr, stdinIsTTY: false, stderrIsTTY: false }, {});
    ui.success('Logged in as a\u001b[31mb');
    ui.error('bad \u0007', 'hint \u001b]0;title\u0007');
    ui.data('alice\u001b[2J\n');
    ui.json({ name: 'x\u001by' });
    expect(stderr.text).not.toContain('\u001b');
    expect(stderr.text).not.toContain('\u0007');
    expect(stdout.text).toContain('alice\\u001b[2J\n');
    expect(JSON.parse(stdout.text.split('\n').slice(1).join('\n')).name).toBe('x\u001by');
  });
});

// A username a provider chose: a right-to-left override, a C1 CSI (U+009B), ESC, BEL, DEL.
const HOSTILE = 'evil\u202egnp.exe\u009b2J\u001b[31m\u0007\u007f\u2066x\u2069';
const RAW = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('JSON output of provider-supplied text', () => {
  it('escapes C0, C1 and bidi controls as \\uXXXX and stays the same JSON value', () => {
    const text = toSafeJson({ name: HOSTILE, list: ['\u2028', 'ok ✓ ünï'] }, 2);
    expect(text.replace(/\n/g, '')).not.toMatch(RAW);
    expect(text).toContain('evil\\u202egnp.exe\\u009b2J\\u001b[31m\\u0007\\u007f\\u2066x\\u2069');
    expect(JSON.parse(text)).toEqual({ name: HOSTILE, list: ['\u2028', 'ok ✓ ünï'] });
  });

  it('whoami --json and status --json print such a name escaped, as valid JSON', async () => {
    const home = createTestContext().home;
    const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
    const grant = { accessToken: 'a', tokenType: 'Bearer', scope: null, expiresAt: Date.now() + 60_000, refreshToken: 'r' };
    const claims = { preferred_username: HOSTILE, group: 'dev\u009b' };
    await store.saveLogin(
      { issuer: 'https://i.example', sub: 's1', username: HOSTILE, email: 'e\u202e@example.test', claims, clientId: 'c' },
      grant,
      Date.now(),
    );
    store.close();
    for (const args of [
      ['whoami', '--json'],
      ['status', '--json'],
    ]) {
      const ctx = createTestContext({ home });
      expect(await run(args, ctx), ctx.stderr.text).toBe(0);
      expect(ctx.stdout.text.replace(/\n/g, ''), args.join(' ')).not.toMatch(RAW);
      const parsed = JSON.parse(ctx.stdout.text);
      const account = Array.isArray(parsed) ? parsed[0] : parsed;
      expect(account).toMatchObject({ username: HOSTILE, email: 'e\u202e@example.test', claims: { group: 'dev\u009b' } });
    }
  });
});

describe('server bodies (xtalk api) through the owner', () => {
  const BODY = JSON.stringify({ name: `a${HOSTILE}\u0085z` });
  const streamOf = (text: string) => new Response(text).body!;
  const uiFor = (stdoutIsTTY: boolean) => {
    const stdout = new CaptureStream();
    const ui = createUi(
      { stdin: createStdin(), stdout, stderr: new CaptureStream(), stdinIsTTY: false, stderrIsTTY: false, stdoutIsTTY },
      {},
    );
    return { ui, stdout };
  };

  it('to a pipe: the bytes as received', async () => {
    const { ui, stdout } = uiFor(false);
    await ui.body(streamOf(BODY), { json: true });
    expect(stdout.text).toBe(BODY);
  });

  it('to a terminal: JSON pretty-printed with every unsafe character as \\uXXXX, the same value', async () => {
    const { ui, stdout } = uiFor(true);
    await ui.body(streamOf(BODY), { json: true });
    expect(stdout.text.replace(/\n/g, '')).not.toMatch(RAW);
    expect(JSON.parse(stdout.text)).toEqual(JSON.parse(BODY));
  });

  it('to a terminal: other text (or broken JSON) escaped', async () => {
    for (const json of [false, true]) {
      const { ui, stdout } = uiFor(true);
      await ui.body(streamOf(`{${HOSTILE}\n`), { json });
      expect(stdout.text.replace(/\n/g, '')).not.toMatch(RAW);
      expect(stdout.text.endsWith('\n')).toBe(true);
    }
  });

  it('to a terminal: a body without a final newline gets one (so `Not Found` and the ✗ line stay apart); to a pipe it does not', async () => {
    for (const stdoutIsTTY of [true, false]) {
      const { ui, stdout } = uiFor(stdoutIsTTY);
      await ui.body(streamOf('Not Found'), { json: false });
      expect(stdout.text).toBe(stdoutIsTTY ? 'Not Found\n' : 'Not Found');
    }
    const { ui, stdout } = uiFor(true);
    await ui.body(streamOf(''), { json: false });
    expect(stdout.text).toBe('');
  });

  it('styles pieces of data only on a terminal, after escaping their text', () => {
    for (const stdoutIsTTY of [true, false]) {
      const { ui, stdout } = uiFor(stdoutIsTTY);
      ui.data([{ style: 'green', text: '✓' }, ` ${HOSTILE}\n`, { style: 'dim', text: `fix:${HOSTILE}` }]);
      const withoutOurStyles = stdout.text.replace(/\x1b\[(32|39|2|22)m/g, '');
      expect(withoutOurStyles.replace(/\n/g, '')).not.toMatch(RAW);
      expect(stdout.text.includes('\x1b[32m✓\x1b[39m')).toBe(stdoutIsTTY);
    }
  });
});
