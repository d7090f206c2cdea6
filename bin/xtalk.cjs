#!/usr/bin/env node
'use strict';
// CommonJS, so no xtalk command starts Node's ES-module loader: token and whoami run from
// dist/quick.cjs, which hands a run it cannot finish (a refresh, `whoami --verify`) over to
// dist/quick-net.cjs, the same commands with the provider at hand, where `xtalk refresh` starts too
// (its provider calls go over node:http, not Node's fetch: no flag to set before it, see below).
// A command line neither takes goes to the full program, dist/main.cjs, as does every other command.
const argv = process.argv.slice(2);
const quick = argv[0] === 'token' || argv[0] === 'whoami' ? runQuick('quick.cjs', 'runQuick', argv) : Promise.resolve(undefined);
quick
  .then((code) => {
    if (code !== undefined) return code;
    const net = argv[0] === 'token' || argv[0] === 'whoami' || argv[0] === 'refresh';
    return net ? runQuick('quick-net.cjs', 'runQuickNet', argv) : undefined;
  })
  .then((code) => {
    if (code !== undefined) return;
    flagsBeforeCompiling(['login', 'logout', 'doctor', 'api', 'exec'].includes(argv[0]));
    return runQuick('main.cjs', 'main', argv);
  });

/**
 * The full program keeps WebAssembly at V8's baseline compiler (keepWasmAtBaseline, src/cli/wasm-baseline.ts). The bundle
 * sets that flag itself; it is set here too, before the bundle is compiled, because V8 accepts a code
 * cache only under the flags it was made with: set only by the running bundle, it made V8 refuse the
 * bundle's cache at every start (and the run write it anew). The same holds for Node's own cache of
 * its built-in modules, made with no flag: every built-in loaded after the flag is compiled from
 * source, about 30 ms of CPU for the modules of a first fetch. So a run that is going to fetch
 * (`fetches`, by the command's name; a wrong guess costs time, nothing else) loads them first, without
 * a request (so no HTTP parser is compiled before the flag), and every run node:vm, which runQuick needs.
 */
function flagsBeforeCompiling(fetches) {
  require('node:vm');
  // Node's lazy getter of Headers loads undici (fetch's code) and the built-ins it needs.
  if (fetches) void globalThis.Headers;
  require('node:v8').setFlagsFromString('--liftoff-only');
}

/**
 * Runs dist/`name` (quick.cjs, quick-net.cjs or main.cjs) and resolves with what its export `entry` resolves
 * to, with V8's code cache (Node 20 has no compile cache of its own): compiling the bundle is a good
 * part of its start-up.
 *
 * The cache is kept beside the bundle, so whoever may change the code is whoever may change its
 * cache; where dist/ is not writable (a system-wide install) there is simply none. It is named after
 * the V8 version and the bundle's size and time, so a rebuilt bundle or another Node never meets an
 * old cache (V8 also rejects a mismatched one, which is then written anew). It holds compiled code
 * only, never data from a run. V8 compiles a function when it first runs, and a cache holds what was
 * compiled: its first line names the kinds of run it has seen (`token`, `login`, …, with `+bus` when
 * the keychain may be read over D-Bus), and a run of a new kind writes it again, with what it added.
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
  // The command's name (any other first word is `-`: a typo must not grow the cache's list).
  const command = /^[a-z][a-z-]{0,19}$/.test(args[0] ?? '') ? args[0] : '-';
  const kind = `${command}${env.DBUS_SESSION_BUS_ADDRESS && env.XTALK_CREDENTIAL_STORE !== 'file' ? '+bus' : ''}`;
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
