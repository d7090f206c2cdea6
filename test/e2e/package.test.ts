import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { run as runInProcess } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider } from '../provider/provider.js';
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
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
  exports: unknown;
};

/**
 * The machine's environment without what `npm test` adds (npm_config_prefix would point the
 * install elsewhere) and without xtalk's own settings. The install itself runs offline, from the
 * npm cache, which `npm run test:prepare` filled beforehand (scripts/warm-npm-cache.mjs; `.ci/run`
 * runs it after `npm ci`): tests reach nothing but 127.0.0.1.
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

it('npm pack holds only the built CLI and Node API, README and license, and installs into an empty prefix', {
  timeout: 600_000,
}, async () => {
  expect(existsSync(join(ROOT, 'dist', 'main.cjs')), 'run `npm run build` first').toBe(true);
  // `xtalk` on npm is someone else's package; ours is scoped, the command keeps its name.
  expect(pkg.name).toBe('@iottalk/xtalk');
  expect(pkg.bin).toEqual({ xtalk: 'bin/xtalk.cjs' });
  expect(pkg.exports).toEqual({
    '.': {
      import: { types: './dist/types/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/types/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  });
  const npm = 'npm';
  const env = cleanEnv();
  const out = tempDir('xtalk-pack-');

  // --ignore-scripts: prepack would rebuild dist/ under the other tests' feet; it is built already.
  const packed = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', out], env);
  expect(packed.code, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info!.files.map((f) => f.path).sort();
  for (const f of files) {
    expect(f).toMatch(
      /^(package\.json|README\.md|LICENSE|bin\/xtalk\.cjs|scripts\/install-launcher\.cjs|dist\/(index|chunks\/[\w-]+)\.js|dist\/(index|quick|quick-net|main|import-open)\.cjs|dist\/prebuilds\/linux-(x64|arm64|arm)\/(keyctl\.node|xtalk)|dist\/types\/[\w/-]+\.d\.c?ts)$/,
    );
  }
  // The kernel key cache's addons and the native launcher of `xtalk token`, one per Linux the package
  // claims (addons for glibc, launchers static), whichever machine packs it (Linux: the cross compilers build the others); the
  // loader picks the addon, the install step the launcher, by platform and arch.
  if (process.platform === 'linux')
    for (const target of ['linux-x64', 'linux-arm64', 'linux-arm']) {
      expect(files).toContain(`dist/prebuilds/${target}/keyctl.node`);
      expect(files).toContain(`dist/prebuilds/${target}/xtalk`);
    }
  expect(files).toContain('scripts/install-launcher.cjs');
  for (const f of [
    'package.json',
    'README.md',
    'LICENSE',
    'bin/xtalk.cjs',
    'dist/quick.cjs',
    'dist/quick-net.cjs',
    'dist/main.cjs',
    'dist/import-open.cjs',
    'dist/index.js',
    'dist/index.cjs',
    'dist/types/index.d.ts',
    'dist/types/index.d.cts',
  ]) {
    expect(files).toContain(f);
  }
  // Every declaration file a shipped one refers to is shipped too, in the same flavour.
  for (const f of files.filter((p) => /\.d\.c?ts$/.test(p))) {
    for (const [, spec] of readFileSync(join(ROOT, f), 'utf8').matchAll(/from '(\.[^']+)\.(c?js)'/g)) {
      expect(files, `${f} refers to ${spec}`).toContain(join(dirname(f), `${spec}.d.${f.endsWith('.d.cts') ? 'cts' : 'ts'}`));
    }
  }
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
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--globalconfig',
      globalconfig,
      '--offline',
      '--no-audit',
      '--no-fund',
      join(out, info!.filename),
    ],
    // better-sqlite3 builds from source instead of trying to download a prebuilt binary.
    { ...env, npm_config_build_from_source: 'true' },
    out,
  );
  expect(installed.code, `${installed.stderr}\n(a package missing from the npm cache? \`npm run test:prepare\` fills it)`).toBe(0);

  const xtalk = join(prefix, 'bin', 'xtalk');
  // On Linux the install step put the native launcher where package.json's bin points, and the
  // JavaScript CLI beside it (scripts/install-launcher.cjs); elsewhere bin stays the JavaScript CLI.
  const installedBin = join(prefix, 'lib', 'node_modules', '@iottalk', 'xtalk', 'bin');
  const launcherHere = process.platform === 'linux' && files.includes(`dist/prebuilds/linux-${process.arch}/xtalk`);
  expect(readFileSync(join(installedBin, 'xtalk.cjs')).subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1'))).toBe(launcherHere);
  expect(existsSync(join(installedBin, 'xtalk-js.cjs'))).toBe(launcherHere);
  if (launcherHere)
    expect((await run(xtalk, ['--xtalk-launcher-version'], cleanEnv(), out)).stdout).toBe(`xtalk-launcher ${pkg.version}\n`);
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
  const doctor = await run(
    xtalk,
    ['doctor', '--json'],
    { ...userEnv, XTALK_ISSUER: dead, XTALK_CLIENT_ID: 'x', XTALK_CREDENTIAL_STORE: 'file', HTTP_PROXY: dead },
    home,
  );
  const report = JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] };
  expect(doctor.code).toBe(1);
  expect(report.checks.find((c) => c.name === 'discovery')!.detail).toMatch(/cannot reach .*ECONNREFUSED/);

  await useInstalledPackage(prefix, userEnv);
});

/**
 * A JavaScript project elsewhere on disk that depends on the installed package: an ESM and a
 * CommonJS script call getAccessToken() against the local provider (the CommonJS one forces a
 * refresh, so openid-client runs from the CommonJS bundle), TypeScript checks both scripts against
 * the shipped declarations, and npx runs the package's `xtalk` bin.
 */
async function useInstalledPackage(prefix: string, userEnv: NodeJS.ProcessEnv): Promise<void> {
  const installed = join(prefix, 'lib', 'node_modules', '@iottalk', 'xtalk');
  expect(existsSync(join(installed, 'package.json'))).toBe(true);
  const app = tempDir('xtalk-app-');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'device-agent', private: true }));
  // The project depends on the installed copy (npm links a folder and its bin; nothing is fetched).
  const globalconfig = (await run('npm', ['config', 'get', 'globalconfig'], userEnv)).stdout.trim();
  const linked = await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--globalconfig', globalconfig, installed],
    userEnv,
    app,
  );
  expect(linked.code, linked.stderr).toBe(0);
  writeFileSync(
    join(app, 'agent.mjs'),
    `import { getAccessToken, whoami, LoginRequiredError } from '@iottalk/xtalk';
const token = await getAccessToken({ minTtl: 30 });
const me = await whoami();
console.log(JSON.stringify({ token, sub: me.sub, loginRequired: typeof LoginRequiredError }));
`,
  );
  writeFileSync(
    join(app, 'uploader.cjs'),
    `const { getAccessToken, LoginRequiredError } = require('@iottalk/xtalk');
getAccessToken({ minTtl: 3600 }).then(
  (token) => console.log(JSON.stringify({ token })),
  (e) => { console.error(e instanceof LoginRequiredError ? 'login required' : e.code, e.message); process.exitCode = 1; },
);
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2022',
        allowJs: true,
        checkJs: true,
        noEmit: true,
        strict: true,
        skipLibCheck: false,
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['agent.mjs', 'uploader.cjs'],
    }),
  );

  // Tokens last 10 minutes, then 2 hours (below): uploader.cjs's minTtl of an hour needs one refresh,
  // which can meet it (a minTtl no token meets is MIN_TTL_UNSATISFIABLE).
  let ttl = 600;
  const provider = await startTestProvider({ accessTokenTtl: () => ttl });
  try {
    const env = {
      ...userEnv,
      XTALK_HOME: tempDir('xtalk-api-home-'),
      XTALK_CREDENTIAL_STORE: 'file',
      XTALK_ISSUER: provider.issuer,
      XTALK_CLIENT_ID: provider.confidentialClient.clientId,
      XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
    };
    const ctx = createTestContext({ env, browser: (url) => signInWithHttp(url, { login: 'packaged' }) });
    expect(await runInProcess(['login'], ctx), ctx.stderr.text).toBe(0);
    await Promise.all(ctx.browserRuns);

    const esm = await run(process.execPath, ['agent.mjs'], env, app);
    expect(esm.code, esm.stderr).toBe(0);
    const first = JSON.parse(esm.stdout) as { token: string; sub: string; loginRequired: string };
    expect(first).toMatchObject({ sub: 'packaged', loginRequired: 'function' });
    expect((await provider.introspect(first.token)).active).toBe(true);

    const grants = provider.refreshGrantCount();
    ttl = 7200;
    const cjs = await run(process.execPath, ['uploader.cjs'], env, app);
    expect(cjs.code, cjs.stderr).toBe(0);
    const { token } = JSON.parse(cjs.stdout) as { token: string };
    expect(provider.refreshGrantCount() - grants).toBe(1);
    expect(token).not.toBe(first.token);
    expect((await provider.introspect(token)).active).toBe(true);

    // npx finds the installed package (offline: nothing is fetched) and runs its `xtalk` bin.
    const npx = await run('npx', ['--offline', '--no-install', '@iottalk/xtalk', 'token'], env, app);
    expect(npx, npx.stderr).toMatchObject({ code: 0, stdout: `${token}\n` });
    const byBin = await run('npx', ['--offline', '--no-install', 'xtalk', '--version'], env, app);
    expect(byBin, byBin.stderr).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });

    const tsc = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], env, app);
    expect(tsc, tsc.stdout).toMatchObject({ code: 0 });
  } finally {
    await provider.stop();
  }
}

/** A port nothing listens on (fetch refuses the well-known "bad ports" such as 1 or 9 outright). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
