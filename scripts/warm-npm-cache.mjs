// Puts the registry metadata and tarballs of every runtime dependency into the npm cache, so the
// packaging test (test/e2e/package.test.ts) and the arm64 suite can install the packed tarball
// with `--offline`; run by `npm run test:prepare` (scripts/prepare-tests.ts). `npm ci` caches tarballs only; an install from a tarball also needs the metadata.
// --prefer-offline: what the cache holds already is taken from it, so a second run needs no network.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
const specs = Object.entries(lock.packages)
  .filter(([path, meta]) => path.startsWith('node_modules/') && !meta.dev && !meta.link)
  .map(([path, meta]) => `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${meta.version}`);
// Installing the packed tarball resolves its dependencies afresh (the lock does not travel with
// it): a version published after the lock was written must be in the cache too, so every range a
// runtime package asks for is cached as well as the locked version.
const runtime = Object.entries(lock.packages).filter(
  ([path, meta]) => (path === '' || path.startsWith('node_modules/')) && !meta.dev && !meta.link,
);
for (const [, meta] of runtime) {
  for (const [name, range] of Object.entries({ ...meta.dependencies, ...meta.optionalDependencies })) specs.push(`${name}@${range}`);
}
const unique = [...new Set(specs)];
for (let i = 0; i < unique.length; i += 40) {
  execFileSync('npm', ['cache', 'add', '--prefer-offline', ...unique.slice(i, i + 40)], { stdio: 'inherit' });
}
process.stderr.write(`npm cache: ${unique.length} runtime packages ready for an offline install\n`);
