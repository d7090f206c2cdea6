#!/usr/bin/env node
'use strict';
// CommonJS, so `xtalk token` and `xtalk whoami` start without Node's ES-module loader: they run from
// dist/quick.cjs, which hands a run it cannot finish (a refresh) to the full program in dist/main.js.
const argv = process.argv.slice(2);
const quick = argv[0] === 'token' || argv[0] === 'whoami' ? require('../dist/quick.cjs').runQuick(argv) : Promise.resolve(undefined);
quick.then(async (code) => {
  if (code === undefined) await (await import('../dist/main.js')).main();
});
