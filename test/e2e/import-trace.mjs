// Preloaded with `node --import`: records every module the process loads into the file named by
// XTALK_TRACE_IMPORTS, so a test can prove what the hot path does not load. ES modules come from a
// loader hook (as URLs), CommonJS files from the CommonJS loader (as file: URLs too), and at exit the
// built-in modules Node loaded after this preload (as `node:<name>`).
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';

const out = process.env.XTALK_TRACE_IMPORTS ?? '';
const hooks = `
import { appendFileSync } from 'node:fs';
const out = ${JSON.stringify(out)};
export async function load(url, context, next) {
  if (out) appendFileSync(out, url + '\\n');
  return next(url, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hooks));

if (out) {
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    const exports = load.apply(this, arguments);
    try {
      const file = Module._resolveFilename(request, parent, isMain);
      if (file.startsWith('/')) appendFileSync(out, pathToFileURL(file).href + '\n');
    } catch {
      // Not a file (a built-in): listed at exit.
    }
    return exports;
  };
  const before = new Set(process.moduleLoadList);
  process.on('exit', () => {
    const builtins = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule '));
    appendFileSync(out, builtins.map((m) => `node:${m.slice('NativeModule '.length)}\n`).join(''));
  });
}
