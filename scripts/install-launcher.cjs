'use strict';
// npm's postinstall: on Linux, puts the native launcher of `xtalk token` (src/launcher/) in place of
// the file package.json's `bin` names (bin/xtalk.cjs), as esbuild's install step puts its binary in
// place of its JavaScript shim. The JavaScript CLI moves beside it to bin/xtalk-js.cjs, where the
// launcher hands everything it does not answer itself, to the Node that ran this script (recorded in
// bin/xtalk-node-path; the launcher falls back to PATH's node).
//
// Left as it is, so bin/xtalk.cjs stays the JavaScript CLI: not Linux (Windows among others), no
// launcher built for this platform and architecture (armv6 has none: the arm build is armv7), a launcher that does not answer its version
// check, `--ignore-scripts`, and a git checkout (its bin/xtalk.cjs is a tracked file that tests run
// with `node`; there the launcher is dist/prebuilds/<platform>-<arch>/xtalk). Whatever fails, the
// install does not: the JavaScript CLI works everywhere.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const bin = path.join(root, 'bin', 'xtalk.cjs');
const js = path.join(root, 'bin', 'xtalk-js.cjs');
const staged = path.join(root, 'bin', `.xtalk-launcher-${process.pid}`);

/** Installed as a package (node_modules/@iottalk/xtalk, or a global prefix's lib/node_modules/…), not a checkout. */
function installedAsPackage() {
  const parent = path.dirname(root);
  return path.basename(parent) === 'node_modules' || path.basename(path.dirname(parent)) === 'node_modules';
}

function isLauncher(file) {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  try {
    return fs.readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
}

function answers(file, version) {
  try {
    return execFileSync(file, ['--xtalk-launcher-version'], { encoding: 'utf8', timeout: 10_000 }).trim() === `xtalk-launcher ${version}`;
  } catch {
    return false;
  }
}

function install() {
  if (process.platform !== 'linux' || !installedAsPackage()) return 'kept';
  // The linux-arm build is armv7: on armv6 (a Pi 1 or Zero) it may start and then fault on an armv7
  // instruction, as the key-cache loader knows too (src/store/keys/keychain/kernel-cache/keyctl-addon.ts).
  if (process.arch === 'arm' && String(process.config.variables.arm_version) === '6') return 'kept';
  const launcher = path.join(root, 'dist', 'prebuilds', `${process.platform}-${process.arch}`, 'xtalk');
  if (!fs.existsSync(launcher)) return 'kept';
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  // Run again (npm rebuild), bin/xtalk.cjs is the launcher already and bin/xtalk-js.cjs the CLI.
  if (!isLauncher(bin)) fs.copyFileSync(bin, js);
  fs.copyFileSync(launcher, staged);
  fs.chmodSync(staged, 0o755);
  if (!answers(staged, version)) {
    fs.rmSync(staged, { force: true });
    return 'kept';
  }
  fs.writeFileSync(path.join(root, 'bin', 'xtalk-node-path'), `${process.execPath}\n`);
  // Renamed over it: whoever runs bin/xtalk.cjs meanwhile gets the old file or the new, whole.
  fs.renameSync(staged, bin);
  if (answers(bin, version)) return 'replaced';
  fs.copyFileSync(js, bin);
  return 'kept';
}

try {
  install();
} catch (e) {
  fs.rmSync(staged, { force: true });
  process.stderr.write(`xtalk: the native launcher was not installed (${e.message}); the JavaScript CLI is used instead.\n`);
}
