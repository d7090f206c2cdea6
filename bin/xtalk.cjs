#!/usr/bin/env node
'use strict';
// CommonJS, so `xtalk token`, `xtalk whoami` and `xtalk refresh` start without Node's ES-module
// loader: token and whoami run from dist/quick.cjs, which hands a run it cannot finish (a refresh,
// `whoami --verify`) over to dist/quick-net.cjs, the same commands with the provider at hand, where
// `xtalk refresh` starts too. A command line neither takes goes to the full program in dist/main.js,
// as does every other command.
const argv = process.argv.slice(2);
const quick = argv[0] === 'token' || argv[0] === 'whoami' ? runQuick('quick.cjs', 'runQuick', argv) : Promise.resolve(undefined);
quick
  .then((code) =>
    code === undefined && (argv[0] === 'token' || argv[0] === 'whoami' || argv[0] === 'refresh')
      ? runQuick('quick-net.cjs', 'runQuickNet', argv)
      : code,
  )
  .then(async (code) => {
    if (code === undefined) await (await import('../dist/main.js')).main();
  });

/**
 * Runs dist/`name` (quick.cjs or quick-net.cjs) and resolves with what its export `entry` resolves
 * to, with V8's code cache (Node 20 has no compile cache of its own): compiling the bundle is a good
 * part of its start-up.
 *
 * The cache is kept beside the bundle, so whoever may change the code is whoever may change its
 * cache; where dist/ is not writable (a system-wide install) there is simply none. It is named after
 * the V8 version and the bundle's size and time, so a rebuilt bundle or another Node never meets an
 * old cache (V8 also rejects a mismatched one, which is then written anew). It holds compiled code
 * only, never data from a run. V8 compiles a function when it first runs, and a cache holds what was
 * compiled: its first line names the kinds of run it has seen (`token`, `whoami`, `+bus` when the
 * keychain may be read over D-Bus), and a run of a new kind writes it again, with what it added.
 */
function runQuick(name, entry, args) {
  const fs = require('node:fs');
  const path = require('node:path');
  const vm = require('node:vm');
  const file = path.join(__dirname, '..', 'dist', name);
  const source = fs.readFileSync(file, 'utf8');
  const stat = fs.statSync(file);
  const cacheFile = `${file}.${process.versions.v8}-${process.arch}-${stat.size}-${Math.trunc(stat.mtimeMs)}.cache`;
  const env = process.env;
  const kind = `${args[0]}${env.DBUS_SESSION_BUS_ADDRESS && env.XTALK_CREDENTIAL_STORE !== 'file' ? '+bus' : ''}`;
  let kinds = [];
  let cachedData;
  try {
    const cache = fs.readFileSync(cacheFile);
    const end = cache.indexOf(10);
    kinds = cache.subarray(0, end).toString('latin1').split(' ');
    cachedData = cache.subarray(end + 1);
  } catch {
    // None yet.
  }
  // No import() in the bundle (the build makes sure): a script from node:vm has no module loader.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const module = { exports: {} };
  // bin/ and dist/ are siblings in the package: `require` finds the same node_modules from either.
  script.runInThisContext().call(module.exports, module.exports, require, module, file, path.dirname(file));
  return module.exports[entry](args).finally(() => {
    if (cachedData && !script.cachedDataRejected && kinds.includes(kind)) return;
    const seen = cachedData && !script.cachedDataRejected ? [...kinds, kind] : [kind];
    // Written whole under another name, then renamed: a concurrent run reads the old cache or the new.
    const staged = `${cacheFile}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(staged, Buffer.concat([Buffer.from(`${seen.join(' ')}\n`, 'latin1'), script.createCachedData()]));
      fs.renameSync(staged, cacheFile);
    } catch {
      fs.rmSync(staged, { force: true });
    }
  });
}
