import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveDeviceWithHttp, signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { CHROMIUM_BROWSER, clientEnv, runChromium, runCli, startCli } from './cli.js';

// Sign-in from a machine without a browser, against the local provider with device flow enabled,
// through the built CLI (`npm run build` first) and headless Chromium.

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider({ deviceFlow: true });
});
afterAll(async () => {
  await provider?.stop();
});

function freshHome(): string {
  return join(mkdtempSync(join(tmpdir(), 'xtalk-e2e-remote-')), 'home');
}

/** A headless machine: no DISPLAY, no BROWSER, the file credential store. */
function env(home: string, extra: Record<string, string | undefined> = {}) {
  return clientEnv(provider, home, { XTALK_CREDENTIAL_STORE: 'file', ...extra });
}

async function whoami(home: string) {
  const res = await runCli(['whoami', '--json'], { env: env(home) });
  return { code: res.code, account: res.code === 0 ? JSON.parse(res.stdout) : undefined };
}

const URL_LINE = /Open this URL to sign in:\n(\S+)\n/;
const DEVICE_LINES = /open this page in a browser on any device:\n(\S+)\nand enter the code:\n\n {4}(\S+)\n/;

describe('xtalk login --no-browser', () => {
  it('prints the URL on a line of its own; Chromium driven to it completes the login', async () => {
    const home = freshHome();
    const cli = startCli(['login', '--no-browser', '--timeout', '60'], { env: env(home) });
    const [, url] = await cli.waitForStderr(URL_LINE);
    const browser = await runChromium(['--login', 'pia', url!]);
    expect(browser.code, browser.log).toBe(0);
    const res = await cli.done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`Logged in to ${provider.issuer} as pia (pia@example.test)`);
    expect((await whoami(home)).account).toMatchObject({ sub: 'pia', current: true });
  });
});

describe('xtalk login --manual', () => {
  it('Chromium signs in, its redirect is captured before the listener, pasted into stdin: login completes', async () => {
    const home = freshHome();
    const cli = startCli(['login', '--manual', '--timeout', '60', '--debug'], { env: env(home) });
    const [, url] = await cli.waitForStderr(URL_LINE);
    await cli.waitForStderr(/Paste the address and press Enter:/);
    const captureFile = join(home, '..', 'callback.txt');
    const browser = await runChromium(['--login', 'milo', '--capture-callback', captureFile, url!]);
    expect(browser.code, browser.log).toBe(0);
    expect(browser.log).toContain('captured the callback address; the listener never saw it');
    const pasted = readFileSync(captureFile, 'utf8').trim();
    expect(new URL(pasted).searchParams.get('state')).toBe(new URL(url!).searchParams.get('state'));
    cli.write(`${pasted}\n`);
    const res = await cli.done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('using the pasted redirect address');
    expect(res.stderr).not.toContain(new URL(pasted).searchParams.get('code')!);
    expect((await whoami(home)).account).toMatchObject({ sub: 'milo', current: true });
  });

  it('the HTTP browser, redirect not delivered, address piped into stdin: login completes', async () => {
    const home = freshHome();
    const cli = startCli(['login', '--manual', '--timeout', '60'], { env: env(home) });
    const [, url] = await cli.waitForStderr(URL_LINE);
    const redirect = await signInWithHttp(url!, { login: 'nina', deliverCallback: false });
    cli.endStdin(`${redirect.href}\n`);
    const res = await cli.done;
    expect(res.code, res.stderr).toBe(0);
    expect((await whoami(home)).account).toMatchObject({ sub: 'nina' });
  });

  it('a pasted address with the wrong state is rejected: exit 1 at the end of stdin, nothing stored', async () => {
    const home = freshHome();
    const cli = startCli(['login', '--manual', '--timeout', '60'], { env: env(home) });
    const [, url] = await cli.waitForStderr(URL_LINE);
    const redirect = await signInWithHttp(url!, { login: 'olga', deliverCallback: false });
    redirect.searchParams.set('state', 'not-this-sign-in');
    const grants = provider.grants.length + provider.grantErrors.length;
    cli.endStdin(`${redirect.href}\n`);
    const res = await cli.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('The pasted address does not belong to this sign-in (its state does not match).');
    expect(res.stderr).toContain('No address pasted on standard input belonged to this sign-in.');
    expect(provider.grants.length + provider.grantErrors.length).toBe(grants);
    expect((await whoami(home)).code).toBe(4);
  });
});

describe('xtalk login --device', () => {
  it('shows the user code; Chromium completes the verification page; login completes', async () => {
    const home = freshHome();
    const cli = startCli(['login', '--device', '--json'], { env: env(home) });
    const [, verificationUri, userCode] = await cli.waitForStderr(DEVICE_LINES);
    const browser = await runChromium(['--login', 'paul', '--device-code', userCode!, verificationUri!]);
    expect(browser.code, browser.log).toBe(0);
    const res = await cli.done;
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ issuer: provider.issuer, sub: 'paul', current: true, credential_store: 'file' });
    expect(provider.grants.some((g) => g.grantType === 'urn:ietf:params:oauth:grant-type:device_code')).toBe(true);
  });

  it('hands verification_uri_complete to a BROWSER command', async () => {
    const home = freshHome();
    const logFile = join(home, '..', 'browser.log');
    const browserCmd = `"${process.execPath}" "${CHROMIUM_BROWSER}" --login rosa --device`;
    const res = await runCli(['login', '--device'], {
      env: env(home, { BROWSER: browserCmd, XTALK_TEST_BROWSER_LOG: logFile }),
      timeoutMs: 90_000,
    });
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    expect(res.code, `${res.stderr}\n${log}`).toBe(0);
    expect(log).toMatch(/opening http:\/\/127\.0\.0\.1:\d+\/device\?user_code=/);
    expect((await whoami(home)).account).toMatchObject({ sub: 'rosa' });
  });

  it('the person presses Abort on the verification page: exit 1 with the provider denial, nothing stored', async () => {
    const home = freshHome();
    const cli = startCli(['login', '--device'], { env: env(home) });
    const [, verificationUri, userCode] = await cli.waitForStderr(DEVICE_LINES);
    const browser = await runChromium(['--login', 'quin', '--deny', '--device-code', userCode!, verificationUri!]);
    expect(browser.code, browser.log).toBe(0);
    const res = await cli.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('✗ The sign-in was denied at the provider (access_denied: End-User aborted interaction).');
    expect(res.stderr).toContain('hint: Run `xtalk login --device` again and approve the request');
    expect((await whoami(home)).code).toBe(4);
  });

  it('exits 2 explaining why when the provider has no device flow', async () => {
    const plain = await startTestProvider();
    try {
      const res = await runCli(['login', '--device'], { env: env(freshHome(), { XTALK_ISSUER: plain.issuer }) });
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('no device_authorization_endpoint');
    } finally {
      await plain.stop();
    }
  });
});

describe('xtalk login choosing by itself on a remote machine', () => {
  it('over SSH with a device-flow provider: says it uses the device flow and which flags force another', async () => {
    const home = freshHome();
    const cli = startCli(['login'], { env: env(home, { SSH_CONNECTION: '10.0.0.7 50123 10.0.0.2 22', DISPLAY: ':0' }) });
    const [, verificationUri, userCode] = await cli.waitForStderr(DEVICE_LINES);
    expect(cli.stderr()).toContain(
      'No browser can be opened here (this is an SSH session), so xtalk uses the device flow (--no-browser or --manual',
    );
    await approveDeviceWithHttp(verificationUri!, { login: 'sven', userCode: userCode! });
    const res = await cli.done;
    expect(res.code, res.stderr).toBe(0);
  });
});

describe('two xtalk login processes for one issuer', () => {
  it('the second reports the first (pid), waits, and uses its session without opening a browser', async () => {
    const home = freshHome();
    const first = startCli(['login', '--no-browser', '--timeout', '60'], { env: env(home) });
    const [, url] = await first.waitForStderr(URL_LINE);
    const second = startCli(['login', '--json', '--timeout', '60'], { env: env(home, { BROWSER: '/bin/false' }) });
    await second.waitForStderr(
      new RegExp(`Another xtalk login for ${provider.issuer.replace(/[.]/g, '\\.')} is in progress \\(pid ${first.pid}\\)`),
    );
    await signInWithHttp(url!, { login: 'tara' });
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toContain('Open this URL');
    expect(b.stderr).toContain('The other xtalk login signed in as tara; using that session.');
    expect(JSON.parse(b.stdout)).toMatchObject({ sub: 'tara', current: true });
  });
});
