/**
 * What a real terminal receives (built CLI under a pty, `script` from util-linux) when a provider
 * or a server sends characters a terminal acts on: U+009B (a one-character CSI), U+0085 (NEL), ESC,
 * BEL and the bidi override U+202E must arrive as visible escapes, through `xtalk api`'s JSON and
 * text paths as much as through whoami, status and doctor. Piped, `xtalk api` still hands on the
 * server's bytes unchanged. Our own colours (doctor's marks, the ✗ of an error) arrive as real SGR
 * sequences, never escaped.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';
import { runCli, XTALK_BIN } from './cli.js';

// A name a provider chose and a body a server sent: CSI, NEL, RLO, ESC (a colour and a screen
// clear), BEL, an OSC title.
const HOSTILE = 'evil\u202egnp.exe\u009b2J\u0085\u001b[31m\u0007\u001b]0;pwned\u0007';
/** What must never reach the terminal raw (the pty itself adds only \r before \n). */
const RAW = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let server: Server;
let api: string;
let home: string;
const JSON_BODY = JSON.stringify({ name: HOSTILE, list: [HOSTILE] });
const TEXT_BODY = `plain ${HOSTILE}\n`;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/api/json') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON_BODY);
    if (req.url === '/api/text') return res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(TEXT_BODY);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  home = createTestContext().home;
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  const grant = {
    accessToken: 'at-terminal',
    tokenType: 'Bearer',
    scope: null,
    expiresAt: Date.now() + 3_600_000,
    refreshToken: 'rt-terminal',
  };
  await store.saveLogin(
    {
      issuer: 'https://issuer.example',
      sub: 's1',
      username: HOSTILE,
      email: `e${HOSTILE}@example.test`,
      claims: { preferred_username: HOSTILE, group: `g${HOSTILE}` },
      clientId: 'c',
    },
    grant,
    Date.now(),
  );
  store.close();
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

const env = () => ({
  XTALK_HOME: home,
  XTALK_CREDENTIAL_STORE: 'file',
  XTALK_ISSUER: 'https://issuer.example',
  XTALK_CLIENT_ID: 'c',
  XTALK_API_URL: api,
  TERM: 'xterm',
  NO_COLOR: '1',
});
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the built CLI on a pty; resolves with everything the terminal was sent (stdout and stderr). */
function onTerminal(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, XTALK_BIN, ...args].map(sq).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env(), ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen: Buffer.concat(chunks).toString('utf8') }));
  });
}

describe('on a real terminal (pty)', () => {
  it('xtalk api: a JSON body is pretty-printed with every control as \\uXXXX', async () => {
    const { code, screen } = await onTerminal(['api', 'json']);
    expect(code, screen).toBe(0);
    expect(screen).not.toMatch(RAW);
    // The same JSON value, readable.
    expect(JSON.parse(screen.replace(/\r\n/g, '\n'))).toEqual(JSON.parse(JSON_BODY));
    expect(screen).toContain('\\u009b2J\\u0085\\u001b[31m\\u0007');
  });

  it('xtalk api: a text body has its controls escaped', async () => {
    const { code, screen } = await onTerminal(['api', 'text']);
    expect(code, screen).toBe(0);
    expect(screen).not.toMatch(RAW);
    expect(screen).toContain('plain evil\\u202egnp.exe\\u009b2J');
  });

  it('whoami, whoami --json, status and status --json: the name escaped', async () => {
    for (const args of [['whoami'], ['whoami', '--json'], ['status'], ['status', '--json']]) {
      const { code, screen } = await onTerminal(args);
      expect(code, `${args.join(' ')}: ${screen}`).toBe(0);
      expect(screen, args.join(' ')).not.toMatch(RAW);
      expect(screen, args.join(' ')).toContain('evil\\u202egnp.exe');
    }
  });

  it("piped, xtalk api hands on the server's bytes unchanged", async () => {
    for (const [path, body] of [
      ['json', JSON_BODY],
      ['text', TEXT_BODY],
    ] as const) {
      const res = await runCli(['api', path], { env: env() });
      expect(res.code, res.stderr).toBe(0);
      expect(Buffer.from(res.stdout, 'utf8').equals(Buffer.from(body, 'utf8'))).toBe(true);
    }
  });
});

/** Our styles, as src/output/palette.ts writes them. */
const OUR_SGR = /\x1b\[(?:2|22|31|32|33|36|39)m/g;
/** One of doctor's marks, coloured. */
const COLOURED_MARK = /\x1b\[3[123]m[✓!✗]\x1b\[39m/;
/** One of our styles or marks shown as text: styling that went through the escaper. */
const ESCAPED_STYLE = /\\u001b\[(?:2|22|31|32|33|36|39)m(?:[✓!✗]|fix:|hint:)/;
const HOSTILE_SHOWN = 'evil\\u202egnp.exe\\u009b2J\\u0085\\u001b[31m\\u0007\\u001b]0;pwned\\u0007';

describe('our colours on a real terminal (pty)', () => {
  const coloured = (issuer: string) => ({ NO_COLOR: undefined, XTALK_ISSUER: issuer });

  it("doctor: the marks and fix: in real colour, a provider's claim still escaped", async () => {
    const { code, screen } = await onTerminal(['doctor'], coloured(`${api}/`));
    // Discovery fails (the test server has no discovery document): exit 1, the rest still checked.
    expect(code, screen).toBe(1);
    expect(screen).toMatch(COLOURED_MARK);
    expect(screen).toContain('\x1b[2mfix:\x1b[22m');
    expect(screen).not.toMatch(ESCAPED_STYLE);
    // The session line names the stored account: its hostile name is escaped, whole.
    expect(screen.replace(OUR_SGR, '')).not.toMatch(RAW);
    expect(screen).toMatch(/ session +evil/);
    expect(screen).toContain(HOSTILE_SHOWN);
  });

  it('a refused command line: the ✗ and hint: in colour, the typed argument escaped', async () => {
    const { code, screen } = await onTerminal(['token', '--\x1b[2J\x07'], coloured('https://issuer.example'));
    expect(code, screen).toBe(2);
    expect(screen).toContain("\x1b[31m✗\x1b[39m unknown option '--\\u001b[2J\\u0007'");
    expect(screen).toContain('\x1b[2mhint:\x1b[22m Run `xtalk token --help` for usage.');
    expect(screen.replace(OUR_SGR, '')).not.toMatch(RAW);
  });

  it('NO_COLOR: the same doctor report without a single escape sequence', async () => {
    const { screen } = await onTerminal(['doctor'], { XTALK_ISSUER: `${api}/` });
    expect(screen).not.toMatch(RAW);
    expect(screen).toMatch(/^[✓!✗] configuration/m);
  });

  it('FORCE_COLOR=1 colours a pipe; FORCE_COLOR=0 keeps a terminal plain', async () => {
    const piped = await runCli(['doctor'], { env: { ...env(), NO_COLOR: undefined, FORCE_COLOR: '1', XTALK_ISSUER: `${api}/` } });
    expect(piped.stdout).toMatch(COLOURED_MARK);
    expect(piped.stderr).toContain('\x1b[31m✗\x1b[39m');
    const plain = await onTerminal(['doctor'], { NO_COLOR: undefined, FORCE_COLOR: '0', XTALK_ISSUER: `${api}/` });
    expect(plain.screen).not.toMatch(RAW);
    expect(plain.screen).toMatch(/^[✓!✗] configuration/m);
  });
});
