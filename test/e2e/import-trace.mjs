// Preloaded with `node --import`: records every module URL the process loads into the file named
// by XTALK_TRACE_IMPORTS, so a test can prove what the hot path does not load.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
const out = ${JSON.stringify(process.env.XTALK_TRACE_IMPORTS ?? '')};
export async function load(url, context, next) {
  if (out) appendFileSync(out, url + '\\n');
  return next(url, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hooks));
