import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { ROOT } from './cli.js';

const exec = promisify(execFile);
const temps: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string>; files: string[] };

/**
 * The machine's environment without what `npm test` adds (npm_config_prefix would point the
 * install elsewhere) and without xtalk's own settings. The install itself runs offline, from the
 * npm cache (`node scripts/warm-npm-cache.mjs` fills it; .ci/run does), so the test never leaves
 * the machine.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|XTALK_)/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return { ...env, ...extra };
}

async function run(file: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT) {
  try {
    const { stdout, stderr } = await exec(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

it('npm pack holds only the built CLI, README and license, and installs into an empty prefix', { timeout: 300_000 }, async () => {
  expect(existsSync(join(ROOT, 'dist', 'main.js')), 'run `npm run build` first').toBe(true);
  expect(pkg.bin).toEqual({ xtalk: 'bin/xtalk.js' });
  const npm = 'npm';
  const env = cleanEnv();
  const out = tempDir('xtalk-pack-');

  // --ignore-scripts: prepack would rebuild dist/ under the other tests' feet; it is built already.
  const packed = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', out], env);
  expect(packed.code, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info!.files.map((f) => f.path).sort();
  for (const f of files) expect(f).toMatch(/^(package\.json|README\.md|LICENSE|bin\/xtalk\.js|dist\/(main|chunks\/[\w-]+)\.js)$/);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/xtalk.js', 'dist/main.js']) expect(files).toContain(f);
  // Every lazily loaded chunk that a shipped file imports is shipped too.
  for (const f of files.filter((p) => p.startsWith('dist/'))) {
    const source = readFileSync(join(ROOT, f), 'utf8');
    for (const [, spec] of source.matchAll(/(?:from |import\()"(\.\/[^"]+)"/g)) {
      expect(files, `${f} imports ${spec}`).toContain(join(dirname(f), spec!));
    }
  }

  const prefix = tempDir('xtalk-prefix-');
  // A new prefix moves npm's global config file too; keep the machine's (CA file, registry).
  const globalconfig = (await run(npm, ['config', 'get', 'globalconfig'], env)).stdout.trim();
  const installed = await run(
    npm,
    ['install', '-g', '--prefix', prefix, '--globalconfig', globalconfig, '--offline', '--no-audit', '--no-fund', join(out, info!.filename)],
    // better-sqlite3 builds from source instead of trying to download a prebuilt binary.
    { ...env, npm_config_build_from_source: 'true' },
    out,
  );
  expect(installed.code, `${installed.stderr}\n(missing from the npm cache? run: node scripts/warm-npm-cache.mjs)`).toBe(0);

  const xtalk = join(prefix, 'bin', 'xtalk');
  const home = tempDir('xtalk-home-');
  const userEnv = cleanEnv({ XTALK_HOME: home });
  const version = await run(xtalk, ['--version'], userEnv, home);
  expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  const help = await run(xtalk, ['--help'], userEnv, home);
  expect(help.code, help.stderr).toBe(0);
  expect(help.stdout).toMatch(/^Usage: xtalk /);
  expect(help.stdout).toContain('doctor');

  // The native SQLite module was built for this Node, and the lazy chunks (doctor, undici) load.
  const status = await run(xtalk, ['status', '--json'], userEnv, home);
  expect(status, status.stderr).toMatchObject({ code: 0, stdout: '[]\n' });
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const doctor = await run(xtalk, ['doctor', '--json'], { ...userEnv, XTALK_ISSUER: dead, XTALK_CLIENT_ID: 'x', XTALK_CREDENTIAL_STORE: 'file', HTTP_PROXY: dead }, home);
  const report = JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] };
  expect(doctor.code).toBe(1);
  expect(report.checks.find((c) => c.name === 'discovery')!.detail).toMatch(/cannot reach .*ECONNREFUSED/);
});

/** A port nothing listens on (fetch refuses the well-known "bad ports" such as 1 or 9 outright). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
