// The native launcher of `xtalk token` (src/launcher/xtalk-launcher.c), as
// dist/prebuilds/linux-<arch>/xtalk: for this machine with the C compiler (`$CC`, else `cc`), and for
// linux-arm64 and linux-arm (Raspberry Pi) where their cross compilers are installed. Linked
// statically (it then runs on any Linux, glibc or not, whatever the C library's version) and
// stripped. Any target that cannot be built is said and skipped: without a launcher for its platform,
// an install keeps the JavaScript CLI (scripts/install-launcher.cjs).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function buildLauncher() {
  if (process.platform !== 'linux') return;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const source = join(root, 'src', 'launcher', 'xtalk-launcher.c');
  const native = { x64: 'x64', arm64: 'arm64', arm: 'arm' }[process.arch];
  const targets = [
    ...(native ? [{ arch: native, cc: process.env.CC || 'cc' }] : []),
    { arch: 'arm64', cc: 'aarch64-linux-gnu-gcc' },
    { arch: 'arm', cc: 'arm-linux-gnueabihf-gcc' },
  ].filter((t, i, all) => all.findIndex((o) => o.arch === t.arch) === i);
  for (const { arch, cc } of targets) {
    const dir = join(root, 'dist', 'prebuilds', `linux-${arch}`);
    mkdirSync(dir, { recursive: true });
    const args = ['-O2', '-s', '-static', '-Wall', '-Wextra', '-Werror', `-DXTALK_VERSION="${version}"`, '-o', join(dir, 'xtalk'), source];
    const result = spawnSync(cc, args, { encoding: 'utf8' });
    if (result.status === 0) continue;
    // The cross compilers are optional: their absence is no news.
    if (result.error?.code === 'ENOENT' && arch !== native) continue;
    const why = result.error ? `${cc} could not run (${result.error.message})` : `${cc} failed:\n${result.stderr}`;
    process.stderr.write(`build: no native launcher for linux-${arch}: ${why}\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildLauncher();
