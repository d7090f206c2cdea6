import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createTestContext, type TestContext } from '../fakes/context.js';
import { approveDeviceWithHttp, signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { waitFor } from '../helpers/wait-for.js';

let plain: TestProvider;
let device: TestProvider;

beforeAll(async () => {
  plain = await startTestProvider();
  device = await startTestProvider({ deviceFlow: true });
});
afterAll(async () => {
  await plain?.stop();
  await device?.stop();
});

function clientEnv(provider: TestProvider) {
  return {
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  };
}

const URL_LINE = /Open this URL to sign in:\n(\S+)/;

async function whoami(ctx: TestContext) {
  const who = createTestContext({ home: ctx.home });
  const code = await run(['whoami', '--json'], who);
  return { code, account: code === 0 ? JSON.parse(who.stdout.text) : undefined };
}

/** The user code and verification URI the device login printed. */
async function deviceInstructions(ctx: TestContext) {
  const match = await waitFor(
    () => /open this page in a browser on any device:\n(\S+)\nand enter the code:\n\n {4}(\S+)/.exec(ctx.stderr.text) ?? undefined,
  );
  return { verificationUri: match[1]!, userCode: match[2]! };
}

describe('xtalk login --manual', () => {
  it('takes the redirected address pasted on stdin; the listener never sees it', async () => {
    const stdin = new PassThrough();
    const ctx = createTestContext({ env: clientEnv(plain), stdin });
    const done = run(['login', '--manual', '--json', '--timeout', '20'], ctx);
    const url = await waitFor(() => URL_LINE.exec(ctx.stderr.text)?.[1]);
    const redirect = await signInWithHttp(url, { login: 'pi', deliverCallback: false });
    expect(redirect.searchParams.get('iss')).toBe(plain.issuer);
    stdin.write(`${redirect.href}\n`);
    expect(await done).toBe(0);
    expect(JSON.parse(ctx.stdout.text)).toMatchObject({ sub: 'pi', current: true });
    expect(ctx.opened).toEqual([]);
    expect(ctx.stderr.text).toContain('Paste the address and press Enter:');
    expect(ctx.stderr.text).not.toContain(redirect.searchParams.get('code')!);
    // the listener is gone: a late delivery of the same redirect reaches nothing
    await expect(fetch(redirect)).rejects.toThrow();
  });

  it('refuses an address from another sign-in, prompts again, then takes the right one (just the query)', async () => {
    const stdin = new PassThrough();
    const ctx = createTestContext({ env: clientEnv(plain), stdin });
    const done = run(['login', '--manual', '--timeout', '20'], ctx);
    const url = await waitFor(() => URL_LINE.exec(ctx.stderr.text)?.[1]);
    const redirect = await signInWithHttp(url, { login: 'quinn', deliverCallback: false });
    const forged = new URL(redirect);
    forged.searchParams.set('state', 'someone-elses-state');
    const grantsBefore = plain.grants.length + plain.grantErrors.length;
    stdin.write(`${forged.href}\n`);
    await waitFor(() => ctx.stderr.text.includes('does not belong to this sign-in'));
    expect(plain.grants.length + plain.grantErrors.length).toBe(grantsBefore);
    stdin.write(`${redirect.search}\n`);
    expect(await done).toBe(0);
    expect(ctx.stderr.text.match(/Paste the address and press Enter:/g)).toHaveLength(2);
    expect((await whoami(ctx)).account).toMatchObject({ sub: 'quinn' });
  });

  it('exits 1 when stdin ends after a wrong address; nothing is sent to the provider or stored', async () => {
    const stdin = new PassThrough();
    const ctx = createTestContext({ env: clientEnv(plain), stdin });
    const done = run(['login', '--manual', '--timeout', '20'], ctx);
    const url = await waitFor(() => URL_LINE.exec(ctx.stderr.text)?.[1]);
    const redirect = await signInWithHttp(url, { login: 'rita', deliverCallback: false });
    redirect.searchParams.set('state', 'wrong');
    const grantsBefore = plain.grants.length + plain.grantErrors.length;
    stdin.end(`${redirect.href}\n`);
    expect(await done).toBe(1);
    expect(ctx.stderr.text).toContain('The pasted address does not belong to this sign-in');
    expect(ctx.stderr.text).toContain('No address pasted on standard input belonged to this sign-in.');
    expect(plain.grants.length + plain.grantErrors.length).toBe(grantsBefore);
    expect((await whoami(ctx)).code).toBe(4);
  });

  it('checks iss before any token request, as for the listener', async () => {
    const stdin = new PassThrough();
    const ctx = createTestContext({ env: clientEnv(plain), stdin });
    const done = run(['login', '--manual', '--timeout', '20'], ctx);
    const url = await waitFor(() => URL_LINE.exec(ctx.stderr.text)?.[1]);
    const redirect = await signInWithHttp(url, { login: 'sam', deliverCallback: false });
    redirect.searchParams.set('iss', 'https://evil.example');
    const grantsBefore = plain.grants.length + plain.grantErrors.length;
    stdin.end(`${redirect.href}\n`);
    expect(await done).toBe(1);
    expect(ctx.stderr.text).toMatch(/iss/);
    expect(plain.grants.length + plain.grantErrors.length).toBe(grantsBefore);
    expect((await whoami(ctx)).code).toBe(4);
  });

  it('still finishes through the listener when the browser can reach it first', async () => {
    const ctx = createTestContext({ env: clientEnv(plain), stdin: new PassThrough() });
    const done = run(['login', '--manual', '--timeout', '20'], ctx);
    const url = await waitFor(() => URL_LINE.exec(ctx.stderr.text)?.[1]);
    await signInWithHttp(url, { login: 'tess' });
    expect(await done).toBe(0);
    expect((await whoami(ctx)).account).toMatchObject({ sub: 'tess' });
  });
});

describe('xtalk login --device', () => {
  it('shows the code, polls every 5 s until approved and stores the session like login does', async () => {
    const ctx = createTestContext({ env: clientEnv(device), realSleepMs: () => 20 });
    const done = run(['login', '--device', '--json'], ctx);
    const { verificationUri, userCode } = await deviceInstructions(ctx);
    expect(ctx.stderr.text).toMatch(/Or open this address, which already carries the code:\nhttp:\/\/127\.0\.0\.1:\d+\/device\?user_code=/);
    await waitFor(() => device.devicePolls.length >= 2);
    await approveDeviceWithHttp(verificationUri, { login: 'uli', userCode });
    expect(await done).toBe(0);
    expect(JSON.parse(ctx.stdout.text)).toMatchObject({ issuer: device.issuer, sub: 'uli', username: 'uli', current: true });
    expect(new Set(ctx.sleeps)).toEqual(new Set([5000]));
    // DISPLAY is set in the fake: an explicit --device opens the page that carries the code
    expect(ctx.opened).toHaveLength(1);
    expect(new URL(ctx.opened[0]!).searchParams.get('user_code')).toBe(userCode);
    expect((await whoami(ctx)).account).toMatchObject({ sub: 'uli' });
  });

  it('with --no-browser opens nothing', async () => {
    const ctx = createTestContext({ env: clientEnv(device), realSleepMs: () => 20 });
    const done = run(['login', '--device', '--no-browser'], ctx);
    const { verificationUri, userCode } = await deviceInstructions(ctx);
    await approveDeviceWithHttp(verificationUri, { login: 'vic', userCode });
    expect(await done).toBe(0);
    expect(ctx.opened).toEqual([]);
  });

  it('exits 2 explaining why when the provider has no device authorization endpoint', async () => {
    const ctx = createTestContext({ env: clientEnv(plain) });
    expect(await run(['login', '--device'], ctx)).toBe(2);
    expect(ctx.stderr.text).toContain('does not offer the device flow: its discovery document has no device_authorization_endpoint');
    expect(ctx.stderr.text).toContain('--manual');
  });
});

describe('xtalk login --device against a provider that answers slow_down or denies', () => {
  let scripted: TestProvider;
  afterAll(async () => {
    await scripted?.stop();
  });

  it('adds 5 s to the poll interval on every slow_down', async () => {
    scripted = await startTestProvider({
      deviceFlow: true,
      devicePollScript: ['slow_down', 'slow_down', 'authorization_pending', 'slow_down'],
    });
    const ctx = createTestContext({ env: { ...clientEnv(scripted), DISPLAY: undefined }, realSleepMs: () => 20 });
    const done = run(['login', '--device', '--debug'], ctx);
    const { verificationUri, userCode } = await deviceInstructions(ctx);
    await waitFor(() => scripted.devicePolls.length >= 5);
    await approveDeviceWithHttp(verificationUri, { login: 'wes', userCode });
    expect(await done).toBe(0);
    const answers = scripted.devicePolls.map((p) => p.answer);
    expect(answers.slice(0, 4)).toEqual(['slow_down', 'slow_down', 'authorization_pending', 'slow_down']);
    expect(answers.at(-1)).toBe('tokens');
    // one sleep before each poll: 5 s, then +5 s after each slow_down
    expect(ctx.sleeps.slice(0, 6)).toEqual([5000, 10_000, 15_000, 15_000, 20_000, 20_000]);
    expect(ctx.sleeps).toHaveLength(answers.length);
    expect(ctx.stderr.text).toContain('the provider asked to slow down; polling every 20 s');
    await scripted.stop();
  });

  it('stops on access_denied with a clear message; nothing stored', async () => {
    scripted = await startTestProvider({ deviceFlow: true, devicePollScript: ['authorization_pending', 'access_denied'] });
    const ctx = createTestContext({ env: clientEnv(scripted), realSleepMs: () => 20 });
    expect(await run(['login', '--device'], ctx)).toBe(1);
    expect(ctx.stderr.text).toContain('✗ The sign-in was denied at the provider (access_denied');
    expect(ctx.stderr.text).toContain('hint: Run `xtalk login --device` again and approve the request');
    expect(scripted.devicePolls).toHaveLength(2);
    expect((await whoami(ctx)).code).toBe(4);
    await scripted.stop();
  });

  it('stops on expired_token with a clear message', async () => {
    scripted = await startTestProvider({ deviceFlow: true, devicePollScript: ['expired_token'] });
    const ctx = createTestContext({ env: clientEnv(scripted), realSleepMs: () => 20 });
    expect(await run(['login', '--device'], ctx)).toBe(1);
    expect(ctx.stderr.text).toContain('✗ The code expired before the sign-in was approved (expired_token');
    expect((await whoami(ctx)).code).toBe(4);
  });
});

describe('xtalk login choosing by itself', () => {
  it('no display, provider with device flow: says so and uses the device flow', async () => {
    const ctx = createTestContext({ env: { ...clientEnv(device), DISPLAY: undefined }, realSleepMs: () => 20 });
    const done = run(['login'], ctx);
    const { verificationUri, userCode } = await deviceInstructions(ctx);
    expect(ctx.stderr.text).toContain(
      'No browser can be opened here (neither DISPLAY nor WAYLAND_DISPLAY is set), so xtalk uses the device flow (--no-browser or --manual',
    );
    await approveDeviceWithHttp(verificationUri, { login: 'xia', userCode });
    expect(await done).toBe(0);
    expect(ctx.opened).toEqual([]);
  });

  it('SSH session, provider without device flow: prints the URL, launches nothing, the listener completes', async () => {
    const ctx = createTestContext({ env: { ...clientEnv(plain), SSH_CONNECTION: '10.1.1.9 50022 10.1.1.2 22', USER: 'pi' } });
    const done = run(['login', '--timeout', '20'], ctx);
    const url = await waitFor(() => URL_LINE.exec(ctx.stderr.text)?.[1]);
    expect(ctx.stderr.text).toContain('No browser can be opened here (this is an SSH session) and the provider offers no device flow');
    expect(ctx.stderr.text).toContain('fix the port with --port');
    expect(ctx.stderr.text).not.toContain('Paste the address'); // stdin is no terminal
    await signInWithHttp(url, { login: 'yann' });
    expect(await done).toBe(0);
    expect(ctx.opened).toEqual([]);
  });

  it('SSH session at a terminal: the paste prompt runs alongside the listener', async () => {
    const stdin = new PassThrough();
    const ctx = createTestContext({ env: { ...clientEnv(plain), SSH_CONNECTION: '10.1.1.9 50022 10.1.1.2 22' }, stdin, stdinIsTTY: true });
    const done = run(['login', '--timeout', '20'], ctx);
    const url = await waitFor(() => URL_LINE.exec(ctx.stderr.text)?.[1]);
    const redirect = await signInWithHttp(url, { login: 'zoe', deliverCallback: false });
    stdin.write(`${redirect.href}\n`);
    expect(await done).toBe(0);
    expect((await whoami(ctx)).account).toMatchObject({ sub: 'zoe' });
  });

  it('WSL without a display opens the browser through wslview', async () => {
    const ctx = createTestContext({
      env: { ...clientEnv(plain), DISPLAY: undefined },
      host: { procVersion: 'Linux version 5.15.153.1-microsoft-standard-WSL2', wslview: '/usr/bin/wslview' },
      browser: (url) => signInWithHttp(url, { login: 'abe' }),
    });
    expect(await run(['login'], ctx)).toBe(0);
    expect(ctx.openedVia).toEqual([{ kind: 'wslview', path: '/usr/bin/wslview' }]);
    expect(ctx.stderr.text).toContain('Signing in through your browser (--no-browser, --manual or --device sign in another way).');
  });

  it('--no-browser in an SSH session with a fixed port prints the exact ssh -L command', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const ctx = createTestContext({ env: { ...clientEnv(plain), SSH_CONNECTION: '10.1.1.9 50022 10.1.1.2 2222', USER: 'pi' } });
    const done = run(['login', '--no-browser', '--port', String(port), '--timeout', '20'], ctx);
    const url = await waitFor(() => URL_LINE.exec(ctx.stderr.text)?.[1]);
    expect(ctx.stderr.text).toContain(
      `\nOn your own computer, forward the port first: ssh -L ${port}:127.0.0.1:${port} -p 2222 pi@10.1.1.2\n`,
    );
    await signInWithHttp(url, { login: 'bea' });
    expect(await done).toBe(0);
  });
});

describe('two xtalk login runs for one issuer', () => {
  it('the second reports the first, waits, and uses the session it stored instead of opening a browser', async () => {
    const first = createTestContext({ env: clientEnv(plain), pid: 424242, isProcessAlive: () => true });
    const firstDone = run(['login', '--no-browser', '--timeout', '20'], first);
    const url = await waitFor(() => URL_LINE.exec(first.stderr.text)?.[1]);

    const second = createTestContext({ env: clientEnv(plain), home: first.home, pid: 434343, isProcessAlive: () => true });
    const secondDone = run(['login', '--json', '--timeout', '20'], second);
    await waitFor(() => second.stderr.text.includes(`Another xtalk login for ${plain.issuer} is in progress (pid 424242); waiting`));

    await signInWithHttp(url, { login: 'cleo' });
    expect(await firstDone).toBe(0);
    expect(await secondDone).toBe(0);
    expect(second.opened).toEqual([]);
    expect(second.stderr.text).not.toContain('Open this URL');
    expect(second.stderr.text).toContain('The other xtalk login signed in as cleo; using that session.');
    expect(JSON.parse(second.stdout.text)).toMatchObject({ sub: 'cleo', current: true });
  });

  it('when the first fails, the second signs in itself', async () => {
    const controller = new AbortController();
    const first = createTestContext({ env: clientEnv(plain), pid: 525252, isProcessAlive: () => true, signal: controller.signal });
    const firstDone = run(['login', '--no-browser', '--timeout', '20'], first);
    await waitFor(() => URL_LINE.exec(first.stderr.text)?.[1]);
    const second = createTestContext({
      env: clientEnv(plain),
      home: first.home,
      pid: 535353,
      isProcessAlive: () => true,
      browser: (u) => signInWithHttp(u, { login: 'dora' }),
    });
    const secondDone = run(['login', '--timeout', '20'], second);
    await waitFor(() => second.stderr.text.includes('pid 525252'));
    controller.abort();
    expect(await firstDone).toBe(130);
    expect(await secondDone).toBe(0);
    expect(second.opened).toHaveLength(1);
    expect((await whoami(second)).account).toMatchObject({ sub: 'dora' });
  });
});
