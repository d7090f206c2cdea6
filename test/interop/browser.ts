import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DotUser } from './dot-provider.js';

export const DOT_BROWSER = fileURLToPath(new URL('./dot-browser.mjs', import.meta.url));

/** A BROWSER command line that signs in to DOT as `user` and presses Authorize (xtalk appends the URL). */
export function dotBrowserCommand(user: Pick<DotUser, 'username' | 'password'>): string {
  return `"${process.execPath}" "${DOT_BROWSER}" --username ${user.username} --password ${user.password}`;
}

/** Runs the DOT browser driver on `url` and resolves with its exit code and log. */
export function runDotBrowser(
  url: string,
  user: Pick<DotUser, 'username' | 'password'>,
  extra: string[] = [],
): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DOT_BROWSER, '--username', user.username, '--password', user.password, ...extra, url], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, log });
    });
  });
}
