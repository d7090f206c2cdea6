#!/usr/bin/env node
// A BROWSER command for the Django OAuth Toolkit interop tests: drives headless Chromium through
// Django's login form and DOT's "Authorize" page the way a user would.
//
//   node test/interop/dot-browser.mjs --username NAME --password PW [--cancel] URL
//
// The URL is the last argument because that is how xtalk invokes $BROWSER. Exit 0 once the loopback
// callback page has loaded (whatever it carries, a code or an error); exit 1 with the reason on
// stderr otherwise. --cancel presses DOT's Cancel button instead of Authorize.
// XTALK_TEST_BROWSER_LOG names a file to append diagnostics to (the process may run with ignored stdio).
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/chromium.mjs';

const TIME_LIMIT_MS = Number(process.env.XTALK_TEST_BROWSER_TIMEOUT_MS) || 60_000;
const LOGIN_FORM = 'form:has(input[name="username"])';
const AUTHORIZE = '#authorizationForm input[name="allow"]';
const ERROR = '.block-center h2';

function log(message) {
  const line = `[dot-browser ${process.pid}] ${message}\n`;
  process.stderr.write(line);
  const file = process.env.XTALK_TEST_BROWSER_LOG;
  if (file) {
    try {
      appendFileSync(file, `${new Date().toISOString()} ${line}`);
    } catch {
      // Diagnostics must never be the reason the browser fails.
    }
  }
}

function parseArgs(argv) {
  const opts = { username: undefined, password: undefined, cancel: false, url: argv.at(-1) };
  const args = argv.slice(0, -1);
  while (args.length) {
    const flag = args.shift();
    if (flag === '--cancel') opts.cancel = true;
    else if (flag === '--username') opts.username = args.shift();
    else if (flag === '--password') opts.password = args.shift();
    else throw new Error(`unknown option ${flag}`);
  }
  if (!opts.username || !opts.password || !/^http:\/\/127\.0\.0\.1:/.test(opts.url ?? '')) {
    throw new Error('usage: dot-browser.mjs --username NAME --password PW [--cancel] URL');
  }
  return opts;
}

const isLoopback = (url) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
const isCallback = (url) => url.href.startsWith('http://127.0.0.1:') && url.pathname === '/callback';

let context;
let profileDir;
let finished = false;

async function finish(code, message) {
  if (finished) return;
  finished = true;
  log(message);
  if (context) await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000).unref())]);
  if (profileDir) rmSync(profileDir, { recursive: true, force: true, maxRetries: 3 });
  process.exit(code);
}

async function run(opts) {
  const deadline = Date.now() + TIME_LIMIT_MS;
  const remaining = () => Math.max(1, deadline - Date.now());
  // A fresh profile each time: cookies on 127.0.0.1 are shared across ports.
  profileDir = mkdtempSync(join(tmpdir(), 'xtalk-dot-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  await context.route('**/*', (route) => (isLoopback(new URL(route.request().url())) ? route.continue() : route.abort('blockedbyclient')));
  const page = context.pages()[0] ?? (await context.newPage());
  const callback = page.waitForURL(isCallback, { waitUntil: 'load', timeout: remaining() }).then(() => 'callback');
  callback.catch(() => {});

  log(`opening ${new URL(opts.url).origin}${new URL(opts.url).pathname}`);
  await page.goto(opts.url, { waitUntil: 'commit', timeout: remaining() });
  let signedIn = false;
  for (let step = 0; step < 6; step++) {
    const ready = page.waitForSelector(`${LOGIN_FORM}, ${AUTHORIZE}, ${ERROR}`, { timeout: remaining() }).then(() => 'page');
    ready.catch(() => {});
    if ((await Promise.race([callback, ready])) === 'callback' || isCallback(new URL(page.url()))) {
      await callback;
      return `callback loaded: ${new URL(page.url()).searchParams.has('error') ? 'error' : 'code'}`;
    }
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: remaining() });
    navigated.catch(() => {});
    if (await page.$(LOGIN_FORM)) {
      if (signedIn) throw new Error('Django showed its login form again: the username or password was refused');
      signedIn = true;
      log(`signing in as ${opts.username}`);
      await page.fill('input[name="username"]', opts.username);
      await page.fill('input[name="password"]', opts.password);
      await page.click(`${LOGIN_FORM} [type="submit"]`);
    } else if (await page.$(AUTHORIZE)) {
      log(opts.cancel ? 'pressing Cancel' : 'pressing Authorize');
      await page.click(opts.cancel ? '#authorizationForm input[type="submit"]:not([name="allow"])' : AUTHORIZE);
    } else {
      const text = (await page.textContent('.block-center'))?.replace(/\s+/g, ' ').trim();
      throw new Error(`DOT shows an error page: ${text}`);
    }
    await navigated;
  }
  throw new Error(`no callback after 6 pages, at ${page.url()}`);
}

process.on('SIGTERM', () => void finish(1, 'terminated'));
process.on('SIGINT', () => void finish(1, 'interrupted'));
setTimeout(() => void finish(1, `failed: no result within ${TIME_LIMIT_MS} ms`), TIME_LIMIT_MS + 5_000).unref();

try {
  const outcome = await run(parseArgs(process.argv.slice(2)));
  await finish(0, `done: ${outcome}`);
} catch (err) {
  await finish(1, `failed: ${err?.message?.split('\n')[0] ?? err}`);
}
