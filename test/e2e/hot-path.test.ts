import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { ROOT, runCli, runProgram } from './cli.js';
import { importTrace, offlineSession, signedInSession } from './offline-session.js';
import { rawDb } from '../helpers/raw-db.js';

const DIST = join(ROOT, 'dist');
/** Text only commander (and so the CLI's parser) contains, and text only openid-client contains. */
const COMMANDER = 'showSuggestionAfterError';
const OPENID_CLIENT = 'enableNonRepudiationChecks';

/** The provider calls of dist/quick-net.cjs went over node:http (src/net/lean-fetch.ts): Node's fetch, undici, never loaded. */
function expectLeanFetch(builtins: string[]): void {
  expect(builtins).toContain('node:http');
  expect(builtins).not.toContain('node:internal/deps/undici/undici');
}

function traced(file: string): { files: string[]; builtins: string[] } {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return {
    files: [...new Set(lines.filter((l) => l.startsWith('file:')).map((u) => fileURLToPath(u)))],
    builtins: lines.filter((l) => l.startsWith('node:')),
  };
}

it('serves a valid token and whoami from dist/quick.cjs alone, with the provider down', async () => {
  const { env } = await offlineSession('hotpath');
  // The quick bundle holds neither openid-client nor commander; the full program does.
  const quick = readFileSync(join(DIST, 'quick.cjs'), 'utf8');
  const full = readFileSync(join(DIST, 'main.cjs'), 'utf8');
  for (const marker of [COMMANDER, OPENID_CLIENT]) {
    expect(full.includes(marker), marker).toBe(true);
    expect(quick.includes(marker), marker).toBe(false);
  }

  for (const args of [['token'], ['whoami', '--json']]) {
    const trace = importTrace();
    const res = await runCli(args, { env: { ...env, ...trace.env } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    if (args[0] === 'token') expect(res.stdout).toMatch(/^\S+\n$/);
    else expect(JSON.parse(res.stdout)).toMatchObject({ sub: 'hotpath' });
    const { files, builtins } = traced(trace.file);
    // bin/xtalk.cjs (which runs dist/quick.cjs through node:vm, unseen by the module loaders) and
    // better-sqlite3's addon: no ES module of xtalk, no chunk, nothing else from node_modules.
    expect(files.filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'))).toEqual([join(ROOT, 'bin', 'xtalk.cjs')]);
    expect(files.filter((f) => f.includes('/node_modules/'))).toEqual([
      expect.stringMatching(/\/better-sqlite3\/build\/Release\/better_sqlite3\.node$/),
    ]);
    // Nor the built-ins only other commands need: child processes (exec, browser), node:tty
    // (color probing), node:net (the file store needs no socket, and the line goes to stdout's
    // descriptor, not a stream over the pipe); whoami does not decrypt, so no node:crypto. (Not
    // node:module: the tracer itself loads it first.)
    for (const unwanted of ['node:child_process', 'node:tty', 'node:net', ...(args[0] === 'whoami' ? ['node:crypto'] : [])]) {
      expect(builtins, unwanted).not.toContain(unwanted);
    }
  }
});

it('hands a token that must be refreshed over to dist/quick-net.cjs, which refreshes it once', async () => {
  const { env, provider } = await signedInSession('handover');
  try {
    const first = await runCli(['token'], { env });
    expect(first.code, first.stderr).toBe(0);
    const grants = provider.grants.length;
    // The stored token has expired (a --min-ttl longer than tokens last would be refused: MIN_TTL_UNSATISFIABLE).
    rawDb(join(env.XTALK_HOME!, 'xtalk.db')).run('UPDATE access_token SET expires_at = created_at');
    const trace = importTrace();
    const res = await runCli(['token'], { env: { ...env, ...trace.env } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^\S+\n$/);
    expect(res.stdout).not.toBe(first.stdout);
    expect(provider.grants.slice(grants).map((g) => g.grantType)).toEqual(['refresh_token']);
    // Both bundles run through node:vm, unseen by the module loaders: no ES module of xtalk, no chunk.
    const { files, builtins } = traced(trace.file);
    expect(files.filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'))).toEqual([join(ROOT, 'bin', 'xtalk.cjs')]);
    expectLeanFetch(builtins);
    // What the refresh stored is what the quick path serves next.
    const again = await runCli(['token'], { env });
    expect(again.stdout).toBe(res.stdout);
  } finally {
    await provider.stop();
  }
});

it('runs `xtalk refresh` from dist/quick-net.cjs: no ES-module chunk, no commander; the same words as through commander', async () => {
  const { env, provider } = await signedInSession('quicknet');
  try {
    const net = readFileSync(join(DIST, 'quick-net.cjs'), 'utf8');
    expect(net.includes(COMMANDER), COMMANDER).toBe(false);
    expect(net.includes(OPENID_CLIENT), OPENID_CLIENT).toBe(true);
    const grants = provider.grants.length;
    const trace = importTrace();
    const res = await runCli(['refresh', '--json'], { env: { ...env, ...trace.env } });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ token_type: expect.any(String), access_token: expect.any(String) });
    expect(res.stderr).toMatch(/^✓ Refreshed the access token of quicknet; it expires in 60 min\.\n$/);
    expect(provider.grants.slice(grants).map((g) => g.grantType)).toEqual(['refresh_token']);
    const { files, builtins } = traced(trace.file);
    expect(files.filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'))).toEqual([join(ROOT, 'bin', 'xtalk.cjs')]);
    expectLeanFetch(builtins);
    // A line the quick path does not take goes to commander, which refuses it with its own words.
    const bad = await runCli(['refresh', '--min-ttl', '5'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option '--min-ttl'");
  } finally {
    await provider.stop();
  }
});

it('keeps a V8 code cache of dist/quick.cjs beside it, and runs right with a damaged one', async () => {
  const { env } = await offlineSession('codecache');
  const caches = () => readdirSync(DIST).filter((f) => /^quick\.cjs\..+\.cache$/.test(f));
  const first = await runCli(['token'], { env });
  expect(first.code, first.stderr).toBe(0);
  // Named after this V8 and the bundle's size and time; the first line lists the kinds of run it holds.
  const name = caches().find((f) =>
    f.startsWith(`quick.cjs.${process.versions.v8}-${process.arch}-${statSync(join(DIST, 'quick.cjs')).size}-`),
  );
  expect(name, caches().join(', ')).toBeDefined();
  const path = join(DIST, name!);
  expect(readFileSync(path, 'latin1').split('\n')[0]!.split(' ')).toContain('token');
  expect(readFileSync(path).length).toBeGreaterThan(10_000);
  // Garbage of the same length: V8 refuses it, the run compiles from source and writes a good cache.
  const damaged = Buffer.concat([Buffer.from('token whoami\n'), Buffer.alloc(readFileSync(path).length, 0x5a)]);
  writeFileSync(path, damaged);
  const again = await runCli(['token'], { env });
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toBe(first.stdout);
  expect(readFileSync(path).equals(damaged)).toBe(false);
  // (Other tests' runs may rewrite it meanwhile; any good cache of theirs holds this kind of run too.)
  expect(readFileSync(path, 'latin1').split('\n')[0]!.split(' ')).toContain('token');
});

/** A copy of bin/ and dist/ (without code caches) of its own, so that no other test's run writes its caches meanwhile. */
function privateInstall(): { bin: string; dist: string; remove: () => void } {
  const copy = mkdtempSync(join(tmpdir(), 'xtalk-codecache-'));
  cpSync(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true });
  cpSync(DIST, join(copy, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.cache') });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  return { bin: join(copy, 'bin', 'xtalk.cjs'), dist: join(copy, 'dist'), remove: () => rmSync(copy, { recursive: true, force: true }) };
}

/** Runs `args` with the private install's bin and returns its one code cache of `bundle` (bytes and inode). */
async function runCaching(
  install: ReturnType<typeof privateInstall>,
  bundle: string,
  args: string[],
  env: Record<string, string | undefined>,
) {
  const res = await runProgram(process.execPath, [install.bin, ...args], { env });
  expect(res.code, res.stderr).toBe(0);
  const caches = readdirSync(install.dist).filter((f) => f.startsWith(`${bundle}.`) && f.endsWith('.cache'));
  expect(caches).toHaveLength(1);
  const file = join(install.dist, caches[0]!);
  return { res, bytes: readFileSync(file), ino: statSync(file).ino };
}

// A cache V8 refuses is written anew (a new file renamed into place); one it accepts, for a kind of
// run it has seen, is left alone. A V8 flag set during a run (the full program keeps WebAssembly at
// Liftoff; so does dist/quick-net.cjs behind a proxy) must not make V8 refuse the cache at the next start.
it('keeps the code cache of dist/quick-net.cjs from run to run: V8 accepts what the last refresh wrote', async () => {
  const install = privateInstall();
  const { env, provider } = await signedInSession('netcache');
  try {
    const first = await runCaching(install, 'quick-net.cjs', ['refresh'], env);
    expect(first.bytes.toString('latin1').split('\n')[0]).toBe('refresh');
    for (let round = 0; round < 2; round++) {
      const next = await runCaching(install, 'quick-net.cjs', ['refresh'], env);
      expect(next.ino).toBe(first.ino);
      expect(next.bytes.equals(first.bytes)).toBe(true);
    }
  } finally {
    await provider.stop();
    install.remove();
  }
});

it('runs every other command from dist/main.cjs with a code cache of its own, kept from run to run; no ES module of xtalk', async () => {
  const install = privateInstall();
  const { env } = await offlineSession('fullcache');
  try {
    const first = await runCaching(install, 'main.cjs', ['status'], env);
    expect(first.res.stdout).toContain('fullcache');
    expect(first.bytes.toString('latin1').split('\n')[0]).toBe('status');
    const trace = importTrace();
    const next = await runCaching(install, 'main.cjs', ['status'], { ...env, ...trace.env });
    expect(next.res.stdout).toBe(first.res.stdout);
    expect(next.ino).toBe(first.ino);
    expect(next.bytes.equals(first.bytes)).toBe(true);
    // The bundle runs through node:vm, unseen by the module loaders: no ES module or chunk of xtalk.
    const { files } = traced(trace.file);
    expect(files.filter((f) => !f.includes('/node_modules/'))).toEqual([install.bin]);
    // A command of another kind adds itself to the cache, which then holds both.
    const other = await runCaching(install, 'main.cjs', ['switch', 'fullcache'], env);
    expect(other.bytes.toString('latin1').split('\n')[0]!.split(' ')).toEqual(['status', 'switch']);
  } finally {
    install.remove();
  }
});

it('loads `open` (ES modules only) for the bundles through dist/import-open.cjs, which Node itself loads', async () => {
  const full = readFileSync(join(DIST, 'main.cjs'), 'utf8');
  expect(full).toContain('"import-open.cjs"');
  const script = `require(${JSON.stringify(join(DIST, 'import-open.cjs'))})().then((m) => console.log(typeof m.default))`;
  const res = await runProgram(process.execPath, ['-e', script], { env: {} });
  expect(res.stderr).toBe('');
  expect(res.stdout).toBe('function\n');
});
