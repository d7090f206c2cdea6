// A BROWSER for the secret-leak test: records the argv and environment xtalk started it with, then
// signs in over HTTP and delivers the callback, as a user's browser would.
//
//   BROWSER='node --import tsx test/e2e/recording-browser.ts RECORD_FILE LOGIN'   (xtalk appends the URL)
import { appendFileSync } from 'node:fs';
import { signInWithHttp } from '../provider/http-browser.js';

const [recordFile, login] = process.argv.slice(2);
const url = process.argv.at(-1) ?? '';
const record = (entry: object) => appendFileSync(recordFile!, `${JSON.stringify(entry)}\n`);

record({ argv: process.argv, execArgv: process.execArgv, env: process.env });
try {
  const callback = await signInWithHttp(url, { login: login! });
  record({ callback: callback.href });
} catch (e) {
  record({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
}
