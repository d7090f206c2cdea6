// Bundles the CLI into dist/ as three CommonJS files that bin/xtalk.cjs runs with V8 code caches
// (quick.cjs, quick-net.cjs, main.cjs), and the Node API; native modules stay in node_modules.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
mkdirSync(new URL('../dist', import.meta.url));

// The quick path (src/quick.ts): `xtalk token` and `xtalk whoami` as one CommonJS file, which Node
// loads without its ES-module loader. Everything the provider needs stays out of it (see
// src/quick.ts); what it reaches only through import() is wrapped and initialised on first use.
// dist/quick-net.cjs (src/quick-net.ts) is its twin with the provider at hand: `xtalk refresh` and
// the runs the quick path hands over; openid-client is in it, initialised when discovery needs it.
// dist/main.cjs (src/main.ts) is the full program, every command, run the same way: with a code cache
// of its own, so a command's code is compiled once per installation rather than at every start.
// Runtime dependencies that stay in node_modules: native addons, `open` (it ships its xdg-open script
// beside its code; loaded through dist/import-open.cjs, below) and undici (1 MB; only loaded behind a
// proxy). better-sqlite3's JavaScript is bundled, its addon stays there (src/store/db/db.ts loads it by path).
// dist/quick-net.cjs gets src/net/lean-fetch.ts as its fetch, Headers, Response and Request (no undici).
const quickBundles = [
  ['src/quick.ts', 'dist/quick.cjs', []],
  ['src/quick-net.ts', 'dist/quick-net.cjs', ['src/net/lean-fetch-globals.ts']],
  ['src/main.ts', 'dist/main.cjs', []],
];
// `open` is ES modules only, and import() has no loader in a script run through node:vm: the bundles
// get src/browser/import-open.ts as a require() of dist/import-open.cjs, a file Node loads itself,
// whose import() has Node's loader (and finds node_modules from dist/, as the bundles do).
writeFileSync(new URL('../dist/import-open.cjs', import.meta.url), "'use strict';\nmodule.exports = () => import('open');\n");
const importOpenFile = {
  name: 'import-open-file',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]browser[\\/]import-open\.ts$/ }, () => ({
      contents: "export const importOpen = () => require(require('node:path').join(__dirname, 'import-open.cjs'))();",
      loader: 'js',
    }));
  },
};
for (const [entry, outfile, inject] of quickBundles)
  await build({
    entryPoints: [entry],
    outfile,
    inject,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    external: ['better-sqlite3/build/*', '@napi-rs/keyring', 'open', 'undici'],
    // import.meta.url feeds createRequire() in src/store/db/db.ts and moduleFile() (src/shared/module-file.ts),
    // which take a path as well as a URL; __filename spares every start loading node:url to make one
    // (the API's CommonJS build does).
    define: { 'import.meta.url': '__filename' },
    // bin/xtalk.cjs runs the bundle through node:vm with a code cache, where import() has no loader
    // (and Node 20's vm loader option is experimental and lost with a cached script): @napi-rs/keyring
    // and undici, the modules it imports lazily besides `open`, are CommonJS and come through require().
    supported: { 'dynamic-import': false },
    plugins: [
      importOpenFile,
      {
        name: 'own-require',
        setup(b) {
          b.onResolve({ filter: /^node:module$/ }, () => ({ path: new URL('./shims/cjs-node-module.js', import.meta.url).pathname }));
        },
      },
    ],
    logLevel: 'warning',
  });

for (const [, outfile] of quickBundles)
  if (/\bimport\(/.test(readFileSync(new URL(`../${outfile}`, import.meta.url), 'utf8')))
    throw new Error(`${outfile} must not use import() (see above)`);

// The banner is needed only where bundled CommonJS code calls `require`; elsewhere it would be one
// createRequire() per chunk on every start (issue 13: the quick path loaded ~10 chunks).
const BANNER = 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);\n';
for (const file of readdirSync(new URL('../dist', import.meta.url), { recursive: true })) {
  if (!String(file).endsWith('.js')) continue;
  const url = new URL(`../dist/${file}`, import.meta.url);
  const text = readFileSync(url, 'utf8');
  if (text.startsWith(BANNER) && !/\brequire\b/.test(text.slice(BANNER.length))) writeFileSync(url, text.slice(BANNER.length));
}

// The Node API (`import … from '@iottalk/xtalk'`): an ESM and a CommonJS bundle (Node 20.18 cannot
// require() ESM) and type declarations. The plugin makes the guarantee a build error: nothing the
// API reaches may import commander or the CLI's wiring.
const apiOnly = {
  name: 'api-only',
  setup(b) {
    b.onResolve({ filter: /^commander$|(^|\/)(cli|commands)\// }, (args) => ({
      errors: [{ text: `the Node API must not load ${args.path} (imported by ${args.importer})` }],
    }));
  },
};
const library = {
  entryPoints: { index: 'src/index.ts' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  legalComments: 'none',
  // As for the CLI: better-sqlite3's JavaScript is bundled (src/store/db/db.ts loads its addon by path).
  external: ['better-sqlite3/build/*', '@napi-rs/keyring', 'open', 'undici'],
  plugins: [apiOnly],
  logLevel: 'warning',
};
await build({
  ...library,
  outdir: 'dist',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/api-[name]-[hash]',
  banner: {
    js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
  },
});
await build({
  ...library,
  outfile: 'dist/index.cjs',
  format: 'cjs',
  // The store finds better-sqlite3 through createRequire(import.meta.url); CommonJS has __filename.
  define: { 'import.meta.url': '__xtalk_module_url' },
  inject: ['scripts/shims/cjs-module-url.js'],
});
await buildDeclarations();
buildKeyctl();
(await import('./build-launcher.mjs')).buildLauncher();

/**
 * The kernel key cache's addon (src/store/keys/keychain/kernel-cache/keyctl.c; Linux only, N-API, so
 * one build serves every Node version), prebuilt for each Linux the package claims, glibc, as
 * dist/prebuilds/<platform>-<arch>/keyctl.node (a musl build would be <platform>-<arch>-musl), where
 * keyctl-addon.ts looks. Compiled against the running Node's Node-API headers (they hold no
 * architecture), by the host's C compiler (`$CC`, else `gcc`) for the host's own architecture and by
 * Debian's cross compilers for the others, then stripped with the matching `strip`. A compiler that
 * is missing costs only its target: the build says which, and goes on (`doctor` says the same on a
 * machine that then has no addon).
 */
function buildKeyctl() {
  if (process.platform !== 'linux') return;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const headers = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
  ]
    .filter(Boolean)
    .find((dir) => existsSync(join(dir, 'node_api.h')));
  const source = join(root, 'src', 'store', 'keys', 'keychain', 'kernel-cache', 'keyctl.c');
  // Debian names each cross compiler gcc-<triplet> (e.g. gcc-aarch64-linux-gnu).
  const targets = [
    { arch: 'x64', triplet: 'x86_64-linux-gnu' },
    { arch: 'arm64', triplet: 'aarch64-linux-gnu' },
    // armv7, hard-float (Raspberry Pi OS 32-bit on a Pi 2 or later): Debian armhf's baseline.
    { arch: 'arm', triplet: 'arm-linux-gnueabihf' },
  ];
  const missing = [];
  for (const { arch, triplet } of targets) {
    const target = `linux-${arch}`;
    if (!headers) {
      missing.push(`${target} (Node's headers, node_api.h, were not found)`);
      continue;
    }
    const native = arch === process.arch;
    const cc = native ? process.env.CC || 'gcc' : `${triplet}-gcc`;
    const strip = native ? 'strip' : `${triplet}-strip`;
    const out = join(root, 'dist', 'prebuilds', target, 'keyctl.node');
    mkdirSync(dirname(out), { recursive: true });
    const steps = [
      [cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', `-I${headers}`, '-o', out, source]],
      [strip, [out]],
    ];
    for (const [tool, args] of steps) {
      const result = spawnSync(tool, args, { encoding: 'utf8' });
      if (result.status === 0) continue;
      const why =
        result.error?.code === 'ENOENT'
          ? `${tool} not found${native ? '' : `: apt-get install gcc-${triplet}`}`
          : result.error
            ? `${tool} could not run (${result.error.message})`
            : `${tool} failed:\n${result.stderr}`;
      missing.push(`${target} (${why})`);
      rmSync(dirname(out), { recursive: true, force: true });
      break;
    }
  }
  if (missing.length) process.stderr.write(`build: no key-cache addon (kernel key cache) for ${missing.join(', ')}\n`);
}

/**
 * `tsc` declarations of what src/index.ts exports, trimmed to the files it reaches, as `.d.ts`
 * for `import` and a `.d.cts` twin for `require` (TypeScript reads a `.d.ts` in this
 * `"type": "module"` package as ESM, which a CommonJS caller cannot import).
 */
async function buildDeclarations() {
  const { execFileSync } = await import('node:child_process');
  const { readFileSync, writeFileSync, mkdirSync } = await import('node:fs');
  const { dirname, join, relative } = await import('node:path');
  const root = new URL('..', import.meta.url).pathname;
  const tmp = join(root, 'dist', '.types-all');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.types.json'), '--outDir', tmp], { stdio: 'inherit' });
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) walk(join(dirname(file), `${spec}.d.ts`));
  };
  walk(join(tmp, 'index.d.ts'));
  for (const file of seen) {
    const text = readFileSync(file, 'utf8');
    const out = join(root, 'dist', 'types', relative(tmp, file));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
    writeFileSync(out.replace(/\.d\.ts$/, '.d.cts'), text.replace(/from '(\.{1,2}\/[^']+)\.js'/g, "from '$1.cjs'"));
  }
  rmSync(tmp, { recursive: true, force: true });
}
