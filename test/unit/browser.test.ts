import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, XtalkError } from '../../src/errors.js';
import { assertSafeBrowserUrl, isSafeBrowserUrl } from '../../src/browser/url-guard.js';
import { withoutXtalkSecrets } from '../../src/browser/child-env.js';
import { openBrowser, scrubEnv, splitCommandLine, type OpenPackageFunction, type SpawnFunction } from '../../src/browser/open-browser.js';

const AUTH_URL = 'https://idp.example/authorize?client_id=xtalk&state=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback';

/** A spawn double that records calls; `verify` fails the test when the expected count was not met. */
function spawnSpy(opts: { expectCalls: number; fail?: NodeJS.ErrnoException }) {
  const calls: { command: string; args: readonly string[]; options: SpawnOptions; unref: number }[] = [];
  const spawn: SpawnFunction = (command, args, options) => {
    const call = { command, args, options, unref: 0 };
    calls.push(call);
    const child = new EventEmitter() as ChildProcess;
    child.unref = () => void call.unref++;
    process.nextTick(() => (opts.fail ? child.emit('error', opts.fail) : child.emit('spawn')));
    return child;
  };
  return { spawn, calls, verify: () => expect(calls.length, 'spawn calls').toBe(opts.expectCalls) };
}

/** An `open` package double that verifies itself the same way. */
function openFake(opts: { expectCalls: number; fail?: Error }) {
  const calls: { target: string; options: { wait: false } }[] = [];
  const open: OpenPackageFunction = async (target, options) => {
    calls.push({ target, options });
    if (opts.fail) throw opts.fail;
  };
  return { open, calls, verify: () => expect(calls.length, 'open calls').toBe(opts.expectCalls) };
}

let verifiers: (() => void)[] = [];
afterEach(() => {
  for (const verify of verifiers) verify();
  verifiers = [];
});
function track<T extends { verify: () => void }>(fake: T): T {
  verifiers.push(fake.verify);
  return fake;
}

describe('isSafeBrowserUrl', () => {
  it.each([
    ['https://idp.example/authorize?x=1', true],
    ['HTTPS://IDP.EXAMPLE/', true],
    ['http://127.0.0.1:8080/authorize', true],
    ['http://127.5.6.7/x', true],
    ['http://127.1/x', true],
    ['http://[::1]:3000/authorize', true],
    ['http://localhost:3000/authorize', true],
    ['http://evil.example/authorize', false],
    ['http://128.0.0.1/x', false],
    ['http://localhost.evil.example/x', false],
    ['http://127.0.0.1.evil.example/x', false],
    ['http://[::2]/x', false],
    ['javascript:alert(1)', false],
    ['JavaScript:alert(1)', false],
    ['file:///etc/passwd', false],
    ['data:text/html,<script>1</script>', false],
    ['vscode://file/x', false],
    ['ms-msdt:/id PCWDiagnostic', false],
    ['ftp://idp.example/', false],
    ['//idp.example/authorize', false],
    ['not a url', false],
    ['', false],
    ['https://', false],
  ])('%s -> %s', (url, safe) => {
    expect(isSafeBrowserUrl(url)).toBe(safe);
  });

  it('assertSafeBrowserUrl names the refused scheme and mentions the CVE', () => {
    const err = (() => {
      try {
        assertSafeBrowserUrl('file:///C:/Windows/System32/calc.exe');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(XtalkError);
    expect((err as XtalkError).exitCode).toBe(1);
    expect((err as XtalkError).message).toContain('"file:"');
    expect((err as XtalkError).message).toContain('refuses to open');
    expect((err as XtalkError).hint).toContain('CVE-2025-6514');
    expect(() => assertSafeBrowserUrl('http://evil.example/')).toThrow(/evil\.example/);
    expect(() => assertSafeBrowserUrl('::::')).toThrow(XtalkError);
    expect(assertSafeBrowserUrl(AUTH_URL)).toBe(AUTH_URL);
  });
});

describe('splitCommandLine', () => {
  it.each([
    ['', []],
    ['   \t ', []],
    ['firefox', ['firefox']],
    ['  firefox   --new-window  ', ['firefox', '--new-window']],
    ['"/Applications/Google Chrome.app/x" --incognito', ['/Applications/Google Chrome.app/x', '--incognito']],
    ["'/opt/my browser/bin' -a", ['/opt/my browser/bin', '-a']],
    ['/opt/my\\ browser/bin', ['/opt/my browser/bin']],
    ['"C:\\Program Files\\Firefox\\firefox.exe" -private', ['C:\\Program Files\\Firefox\\firefox.exe', '-private']],
    ['"say \\"hi\\"" \'it\'"\'"\'s\'', ['say "hi"', "it's"]],
    ['a""b \'\' ""', ['ab', '', '']],
    ['pre"fix mid"post', ['prefix midpost']],
    ['$HOME/bin/* ~ `id` $(id) ; | &', ['$HOME/bin/*', '~', '`id`', '$(id)', ';', '|', '&']],
    ['"\\$HOME"', ['$HOME']],
    ["'a\\b'", ['a\\b']],
    ['trailing\\', ['trailing\\']],
  ])('%j -> %j', (input, argv) => {
    expect(splitCommandLine(input)).toEqual(argv);
  });

  it('throws a ConfigError on an unterminated quote', () => {
    expect(() => splitCommandLine('"firefox')).toThrow(ConfigError);
    expect(() => splitCommandLine("firefox 'x")).toThrow(/unterminated ' quote/);
  });
});

describe('scrubEnv', () => {
  it('drops the client secrets and anything named like SECRET, TOKEN or PASSWORD', () => {
    const env = scrubEnv({
      XTALK_CLIENT_SECRET: 's',
      OAUTH2_CLIENT_SECRET: 's',
      GITHUB_TOKEN: 't',
      my_api_token: 't',
      Db_Password: 'p',
      AWS_SECRET_ACCESS_KEY: 'k',
      XDG_ACTIVATION_TOKEN: 'focus',
      PATH: '/usr/bin',
      DISPLAY: ':0',
      UNSET: undefined,
    });
    expect(env).toEqual({ PATH: '/usr/bin', DISPLAY: ':0', XDG_ACTIVATION_TOKEN: 'focus' });
  });

  it("is the browser side of one rule: exec children lose only xtalk's own secrets", () => {
    const env = {
      XTALK_CLIENT_SECRET: 's',
      oauth2_client_secret: 's',
      XTALK_ACCESS_TOKEN: 't',
      XTALK_TOKEN_AUTH_METHOD: 'none',
      XTALK_ISSUER: 'i',
      GITHUB_TOKEN: 'g',
    };
    expect(withoutXtalkSecrets(env)).toEqual({ XTALK_TOKEN_AUTH_METHOD: 'none', XTALK_ISSUER: 'i', GITHUB_TOKEN: 'g' });
    expect(scrubEnv(env)).toEqual({ XTALK_ISSUER: 'i' });
  });
});

describe('openBrowser with XTALK_BROWSER / BROWSER', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'xtalk-browser-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the command without a shell, URL last, without secrets in argv or env', async () => {
    const script = join(dir, 'record browser.mjs');
    const out = join(dir, 'record.json');
    writeFileSync(
      script,
      `import { writeFileSync } from 'node:fs';
const [out, ...rest] = process.argv.slice(2);
writeFileSync(out, JSON.stringify({ argv: rest, env: process.env }));\n`,
    );
    const env = {
      ...process.env,
      BROWSER: `"${process.execPath}" "${script}" "${out}" --flag 'two words'`,
      XTALK_CLIENT_SECRET: 'top-secret-value',
      OAUTH2_CLIENT_SECRET: 'other-secret-value',
      MY_REFRESH_TOKEN: 'token-value',
      KEEP_ME: 'kept',
    };
    await openBrowser(AUTH_URL, { env, platform: process.platform });

    const deadline = Date.now() + 10_000;
    while (!existsSync(out) || readFileSync(out, 'utf8') === '') {
      if (Date.now() > deadline) throw new Error('the browser command never ran');
      await new Promise((r) => setTimeout(r, 20));
    }
    const raw = readFileSync(out, 'utf8');
    const recorded = JSON.parse(raw) as { argv: string[]; env: Record<string, string> };
    expect(recorded.argv).toEqual(['--flag', 'two words', AUTH_URL]);
    expect(recorded.argv.at(-1)).toBe(AUTH_URL);
    expect(recorded.env.XTALK_CLIENT_SECRET).toBeUndefined();
    expect(recorded.env.OAUTH2_CLIENT_SECRET).toBeUndefined();
    expect(recorded.env.MY_REFRESH_TOKEN).toBeUndefined();
    expect(recorded.env.KEEP_ME).toBe('kept');
    expect(raw).not.toMatch(/top-secret-value|other-secret-value|token-value/);
  });

  it('prefers XTALK_BROWSER over BROWSER and spawns detached, ignored stdio, no shell', async () => {
    const spy = track(spawnSpy({ expectCalls: 1 }));
    const open = track(openFake({ expectCalls: 0 }));
    await openBrowser(AUTH_URL, {
      env: { XTALK_BROWSER: 'my-browser --private', BROWSER: 'other', XTALK_CLIENT_SECRET: 'x' },
      platform: 'linux',
      spawn: spy.spawn,
      openPackage: open.open,
    });
    const call = spy.calls[0]!;
    expect(call.command).toBe('my-browser');
    expect(call.args).toEqual(['--private', AUTH_URL]);
    expect(call.options).toMatchObject({ shell: false, stdio: 'ignore', detached: true });
    expect(call.options.env).toEqual({ XTALK_BROWSER: 'my-browser --private', BROWSER: 'other' });
    expect(call.unref).toBe(1);
  });

  it('falls back to BROWSER when XTALK_BROWSER is empty', async () => {
    const spy = track(spawnSpy({ expectCalls: 1 }));
    await openBrowser(AUTH_URL, { env: { XTALK_BROWSER: '  ', BROWSER: 'lynx' }, platform: 'linux', spawn: spy.spawn });
    expect(spy.calls[0]!.command).toBe('lynx');
  });

  it('rejects when the command does not exist (ENOENT)', async () => {
    const err = await openBrowser(AUTH_URL, {
      env: { BROWSER: join(dir, 'no-such-browser') + ' --x' },
      platform: process.platform,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(XtalkError);
    expect((err as XtalkError).message).toMatch(/no-such-browser.*BROWSER.*ENOENT/);
    expect((err as XtalkError).hint).toContain('BROWSER');
  });

  it('rejects when an injected spawn reports an error', async () => {
    const fail = Object.assign(new Error('spawn EACCES'), { code: 'EACCES' });
    const spy = track(spawnSpy({ expectCalls: 1, fail }));
    await expect(openBrowser(AUTH_URL, { env: { BROWSER: 'b' }, platform: 'linux', spawn: spy.spawn })).rejects.toThrow(/EACCES/);
  });

  it('refuses a batch file on Windows instead of needing a shell', async () => {
    const spy = track(spawnSpy({ expectCalls: 0 }));
    await expect(openBrowser(AUTH_URL, { env: { BROWSER: 'C:/tools/browser.cmd' }, platform: 'win32', spawn: spy.spawn })).rejects.toThrow(
      ConfigError,
    );
  });

  it.each(['javascript:alert(1)', 'file:///etc/passwd', 'http://evil.example/authorize', 'calc.exe'])(
    'never spawns or opens for %s',
    async (url) => {
      const spy = track(spawnSpy({ expectCalls: 0 }));
      const open = track(openFake({ expectCalls: 0 }));
      await expect(
        openBrowser(url, { env: { BROWSER: 'b' }, platform: 'linux', spawn: spy.spawn, openPackage: open.open }),
      ).rejects.toThrow(XtalkError);
      await expect(openBrowser(url, { env: {}, platform: 'linux', spawn: spy.spawn, openPackage: open.open })).rejects.toThrow(XtalkError);
    },
  );
});

describe('openBrowser without a browser variable', () => {
  it('calls the open package once with wait: false', async () => {
    const spy = track(spawnSpy({ expectCalls: 0 }));
    const open = track(openFake({ expectCalls: 1 }));
    await openBrowser(AUTH_URL, { env: { BROWSER: '' }, platform: 'linux', spawn: spy.spawn, openPackage: open.open });
    expect(open.calls[0]).toEqual({ target: AUTH_URL, options: { wait: false } });
  });

  it('turns a failure of the open package into an XtalkError', async () => {
    const open = track(openFake({ expectCalls: 1, fail: new Error('no opener') }));
    await expect(openBrowser(AUTH_URL, { env: {}, platform: 'linux', openPackage: open.open })).rejects.toThrow(
      /Could not open the system browser: no opener/,
    );
  });
});

describe('openBrowser on WSL (via wslview or powershell.exe)', () => {
  it('runs wslview with the URL, without a shell or secrets', async () => {
    const spy = track(spawnSpy({ expectCalls: 1 }));
    const open = track(openFake({ expectCalls: 0 }));
    await openBrowser(AUTH_URL, {
      env: { XTALK_CLIENT_SECRET: 'x', PATH: '/usr/bin' },
      platform: 'linux',
      via: { kind: 'wslview', path: '/usr/bin/wslview' },
      spawn: spy.spawn,
      openPackage: open.open,
    });
    expect(spy.calls[0]).toMatchObject({
      command: '/usr/bin/wslview',
      args: [AUTH_URL],
      options: { shell: false, env: { PATH: '/usr/bin' } },
    });
  });

  it("runs powershell.exe Start-Process with the URL in a single-quoted string (' doubled)", async () => {
    const spy = track(spawnSpy({ expectCalls: 1 }));
    const url = "https://idp.example/it's?a=1&b=2";
    await openBrowser(url, { env: {}, platform: 'linux', via: { kind: 'powershell', path: '/mnt/c/ps.exe' }, spawn: spy.spawn });
    expect(spy.calls[0]!.command).toBe('/mnt/c/ps.exe');
    expect(spy.calls[0]!.args).toEqual(['-NoProfile', '-NonInteractive', '-Command', "Start-Process 'https://idp.example/it''s?a=1&b=2'"]);
  });

  it('still prefers an explicit BROWSER command', async () => {
    const spy = track(spawnSpy({ expectCalls: 1 }));
    await openBrowser(AUTH_URL, {
      env: { BROWSER: 'lynx' },
      platform: 'linux',
      via: { kind: 'wslview', path: '/usr/bin/wslview' },
      spawn: spy.spawn,
    });
    expect(spy.calls[0]!.command).toBe('lynx');
  });

  it('never hands an unsafe URL to the WSL openers', async () => {
    const spy = track(spawnSpy({ expectCalls: 0 }));
    await expect(
      openBrowser('file:///etc/passwd', { env: {}, platform: 'linux', via: { kind: 'powershell', path: 'ps' }, spawn: spy.spawn }),
    ).rejects.toThrow(XtalkError);
  });
});
