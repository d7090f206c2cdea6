#!/usr/bin/env node
// A BROWSER command for end-to-end tests: drives headless Chromium through the test provider's
// sign-in pages the way a user would.
//
//   node test/e2e/chromium-browser.mjs [--login NAME] [--password PW] [--device-code CODE | --device]
//                                      [--deny] [--capture-callback FILE] [--profile DIR] [--report FILE]
//                                      [--callback-time FILE] URL
//
// The URL is the last argument because that is how xtalk invokes $BROWSER. Exit 0 once the
// loopback callback page has loaded (or, with --device-code / --device, the provider's success page
// shows); exit 1 with the reason on stderr otherwise. --device approves a verification URL that
// already carries the user code; --deny presses Abort on its confirmation page instead.
// --capture-callback routes every request through a small local proxy that never lets anything
// reach the loopback listener named in the URL's redirect_uri: the callback address is written to
// FILE and the browser gets an error page, as when the browser runs on another machine (page.route
// cannot do this: it does not see a redirect's follow-up request).
// --profile keeps the browser profile (and so the provider's session cookie) in DIR across runs, as
// on a shared machine; --report appends a line to FILE for each page acted on (`login-form`,
// `logout-confirm`). --callback-time writes to FILE the monotonic time (process.hrtime.bigint(), ns;
// the same clock in every process of the machine) at which the browser asked for the loopback
// callback, for the bench's callback-to-exit row. An RP-initiated logout URL is followed to the
// loopback post-logout redirect, pressing "Yes, sign me out" on the provider's confirmation page.
// Runs fine as a detached child with ignored stdio: set XTALK_TEST_BROWSER_LOG to keep diagnostics.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/chromium.mjs';

const TIME_LIMIT_MS = Number(process.env.XTALK_TEST_BROWSER_TIMEOUT_MS) || 60_000;
const ACTIONABLE = [
  'input[name="login"]',
  'input[name="user_code"]:not([type="hidden"])',
  'input[name="prompt"][value="consent"]',
  '[id="op.deviceConfirmForm"]',
  '[id="op.logoutForm"]',
].join(', ');

const logFile = process.env.XTALK_TEST_BROWSER_LOG;

function log(message) {
  const line = `[chromium-browser ${process.pid}] ${message}\n`;
  process.stderr.write(line);
  if (logFile) {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} ${line}`);
    } catch {
      // Diagnostics must never be the reason the browser fails.
    }
  }
}

function parseArgs(argv) {
  const opts = {
    login: 'alice',
    password: 'any-password',
    deviceCode: undefined,
    device: false,
    deny: false,
    captureFile: undefined,
    profile: undefined,
    report: undefined,
    callbackTime: undefined,
    url: undefined,
  };
  const args = [...argv];
  opts.url = args.pop();
  while (args.length) {
    const flag = args.shift();
    if (flag === '--device' || flag === '--deny') {
      opts.device = true;
      if (flag === '--deny') opts.deny = true;
      continue;
    }
    const value = args.shift();
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--login') opts.login = value;
    else if (flag === '--password') opts.password = value;
    else if (flag === '--device-code') opts.deviceCode = value;
    else if (flag === '--capture-callback') opts.captureFile = value;
    else if (flag === '--profile') opts.profile = value;
    else if (flag === '--report') opts.report = value;
    else if (flag === '--callback-time') opts.callbackTime = value;
    else throw new Error(`unknown option ${flag}`);
  }
  if (opts.deviceCode) opts.device = true;
  if (!opts.url || !/^https?:\/\//.test(opts.url)) {
    throw new Error(
      'usage: chromium-browser.mjs [--login NAME] [--password PW] [--device-code CODE | --device] [--deny] [--capture-callback FILE] URL',
    );
  }
  return opts;
}

/**
 * A forward proxy for plain-HTTP loopback traffic that refuses to reach `listenerOrigin`: the
 * callback URL is written to `file`, every request to that origin gets a 502 page.
 */
async function startCapturingProxy(listenerOrigin, file) {
  const server = createServer((req, res) => {
    let target;
    try {
      target = new URL(req.url);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (target.origin === listenerOrigin) {
      if (target.pathname.includes('/callback')) {
        writeFileSync(file, `${target.href}\n`);
        log('captured the callback address; the listener never saw it');
      }
      res
        .writeHead(502, { 'content-type': 'text/html' })
        .end('<!doctype html><title>This site can’t be reached</title><h1>This site can’t be reached</h1>');
      return;
    }
    if (!isLoopback(target)) {
      res.writeHead(403).end();
      return;
    }
    const upstream = httpRequest(target, { method: req.method, headers: req.headers, agent: false }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  });
  // No tunnels: https (or anything else) through this proxy is refused.
  server.on('connect', (_req, socket) => socket.destroy());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return server.address().port;
}

const isCallback = (url) =>
  url.href.startsWith('http://127.0.0.1:') && (url.pathname.includes('/callback') || url.pathname === '/logout-callback');
const isLoopback = (url) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

let context;
let profileDir;
let keepProfile = false;
let finished = false;

async function cleanUp() {
  if (context) {
    const closing = context.close().catch(() => {});
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  }
  if (profileDir && !keepProfile) rmSync(profileDir, { recursive: true, force: true, maxRetries: 3 });
}

async function finish(code, message) {
  if (finished) return;
  finished = true;
  log(message);
  await cleanUp().catch((err) => log(`cleanup failed: ${err?.message ?? err}`));
  process.exit(code);
}

async function run(opts) {
  const deadline = Date.now() + TIME_LIMIT_MS;
  const remaining = () => Math.max(1, deadline - Date.now());

  let flags = CHROMIUM_FLAGS;
  if (opts.captureFile) {
    const listener = new URL(new URL(opts.url).searchParams.get('redirect_uri') ?? 'missing:');
    const port = await startCapturingProxy(listener.origin, opts.captureFile);
    // <-loopback> removes Chromium's implicit loopback bypass, so loopback goes through the proxy too.
    flags = [
      ...CHROMIUM_FLAGS.filter((f) => !f.startsWith('--proxy-server=')),
      `--proxy-server=http://127.0.0.1:${port}`,
      '--proxy-bypass-list=<-loopback>',
    ];
  }
  keepProfile = Boolean(opts.profile);
  profileDir = opts.profile ?? mkdtempSync(join(tmpdir(), 'xtalk-chromium-'));
  const report = (what) => opts.report && appendFileSync(opts.report, `${what}\n`);
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: flags,
  });
  await context.route('**/*', (route) => (isLoopback(new URL(route.request().url())) ? route.continue() : route.abort('blockedbyclient')));
  const page = context.pages()[0] ?? (await context.newPage());
  if (opts.callbackTime) {
    // 'request' also reports a redirect's follow-up (the provider's 303 to the callback), which page.route does not see.
    const onRequest = (request) => {
      if (!isCallback(new URL(request.url()))) return;
      writeFileSync(opts.callbackTime, `${process.hrtime.bigint()}\n`);
      page.off('request', onRequest);
    };
    page.on('request', onRequest);
  }

  // Registered before the first navigation: the callback can arrive at any step, and the page must
  // finish loading it before the browser closes (closing early can hang Chromium for minutes).
  const callback = opts.device
    ? new Promise(() => {})
    : page.waitForURL(isCallback, { waitUntil: 'load', timeout: remaining() }).then(() => 'callback');
  callback.catch(() => {});

  log(`opening ${opts.url}`);
  await page.goto(opts.url, { waitUntil: 'commit', timeout: remaining() });

  let codeEntered = false;
  for (let step = 0; step < 12; step++) {
    const pageReady = page.waitForSelector(`${ACTIONABLE}, h1`, { timeout: remaining() }).then(() => 'page');
    pageReady.catch(() => {});
    if ((await Promise.race([callback, pageReady])) === 'callback') return `callback loaded: ${page.url()}`;
    if (isCallback(new URL(page.url()))) {
      await callback;
      return `callback loaded: ${page.url()}`;
    }

    const state = await page.evaluate(
      (selector) => ({
        actionable: Boolean(document.querySelector(selector)),
        login: Boolean(document.querySelector('input[name="login"]')),
        userCode: document.querySelector('input[name="user_code"]:not([type="hidden"])')?.value ?? null,
        confirm: Boolean(document.querySelector('[id="op.deviceConfirmForm"]')),
        logout: Boolean(document.querySelector('[id="op.logoutForm"]')),
        heading: document.querySelector('h1')?.textContent?.trim() ?? '',
        text: document.body?.innerText?.replace(/\s+/g, ' ').slice(0, 300) ?? '',
      }),
      ACTIONABLE,
    );

    if (!state.actionable) {
      if (opts.device && /success/i.test(state.heading)) return `device approved: ${state.heading}`;
      throw new Error(`unexpected page ${page.url()}: ${state.text}`);
    }

    const navigated = page.waitForEvent('framenavigated', {
      predicate: (frame) => frame === page.mainFrame(),
      timeout: remaining(),
    });
    navigated.catch(() => {});
    if (state.logout) {
      log('confirming the sign-out');
      report('logout-confirm');
      await page.click('button[form="op.logoutForm"][name="logout"]');
    } else if (state.login) {
      log(`signing in as ${opts.login}`);
      report('login-form');
      await page.fill('input[name="login"]', opts.login);
      await page.fill('input[name="password"]', opts.password);
      await page.click('form:has(input[name="login"]) [type="submit"]');
    } else if (state.userCode !== null) {
      if (codeEntered) throw new Error(`the user code was rejected: ${state.text}`);
      if (!state.userCode) {
        if (!opts.deviceCode) throw new Error('the page asks for a user code; pass --device-code');
        await page.fill('input[name="user_code"]', opts.deviceCode);
      }
      codeEntered = true;
      log('submitting the user code');
      await page.click('button[form="op.deviceInputForm"], form:has(input[name="user_code"]) [type="submit"]');
    } else if (state.confirm && opts.deny) {
      log('aborting the device sign-in');
      await page.click('button[form="op.deviceConfirmForm"][name="abort"]');
      await navigated;
      return 'device denied';
    } else if (state.confirm) {
      log('confirming the device');
      await page.click('button[form="op.deviceConfirmForm"]:not([name="abort"])');
    } else {
      log('granting consent');
      await page.click('form:has(input[name="prompt"][value="consent"]) [type="submit"]');
    }
    await navigated;
  }
  throw new Error(`no callback after 12 pages, at ${page.url()}`);
}

process.on('SIGTERM', () => void finish(1, 'terminated'));
process.on('SIGINT', () => void finish(1, 'interrupted'));
setTimeout(() => void finish(1, `failed: no result within ${TIME_LIMIT_MS} ms`), TIME_LIMIT_MS + 5_000).unref();

try {
  const opts = parseArgs(process.argv.slice(2));
  const outcome = await run(opts);
  await finish(0, `done: ${outcome}`);
} catch (err) {
  await finish(1, `failed: ${err?.message?.split('\n')[0] ?? err}`);
}
