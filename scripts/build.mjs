// Bundles the CLI into dist/ so `xtalk token` starts fast; openid-client and the browser launcher
// stay in lazily loaded chunks, native modules stay in node_modules.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: false,
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  // Runtime dependencies that stay in node_modules: native addons, `open` (it ships its xdg-open
  // script beside its code) and undici (1 MB; only loaded behind a proxy). better-sqlite3's
  // JavaScript is bundled, its addon stays there (src/store/db.ts loads it by path).
  external: ['better-sqlite3/build/*', '@napi-rs/keyring', 'open', 'undici'],
  banner: {
    js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
  },
  logLevel: 'warning',
});

// The banner is needed only where bundled CommonJS code calls `require`; elsewhere it would be one
// createRequire() per chunk on every start (issue 13: the fast path loads ~10 chunks).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
const BANNER = 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);\n';
for (const file of readdirSync(new URL('../dist', import.meta.url), { recursive: true })) {
  if (!String(file).endsWith('.js')) continue;
  const url = new URL(`../dist/${file}`, import.meta.url);
  const text = readFileSync(url, 'utf8');
  if (text.startsWith(BANNER) && !/\brequire\b/.test(text.slice(BANNER.length))) writeFileSync(url, text.slice(BANNER.length));
}
