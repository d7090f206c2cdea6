import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './cli.js';
import { offlineSession } from './offline-session.js';
import { fillDisk, mountTinyDisk } from '../helpers/tiny-disk.js';

// Mounting needs root (CI runs as root); elsewhere these tests cannot build the folder they need.
const asRoot = process.getuid?.() === 0;

const unmounts: string[] = [];
afterEach(() => {
  for (const dir of unmounts.splice(0).reverse()) execFileSync('umount', [dir]);
});

/** Every file in `dir` by name, with a hash of its bytes: what a read must leave exactly as it was. */
function folderState(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((name) => [
      name,
      createHash('sha256')
        .update(readFileSync(join(dir, name)))
        .digest('hex'),
    ]),
  );
}

/** A signed-in XTALK_HOME (file store, provider stopped) and the token a normal run serves from it. */
async function session(login: string): Promise<{ env: Record<string, string | undefined>; home: string; token: string }> {
  const { env } = await offlineSession(login);
  const first = await runCli(['token'], { env });
  expect(first.code, first.stderr).toBe(0);
  return { env, home: env.XTALK_HOME!, token: first.stdout };
}

function readOnlyView(home: string): string {
  const view = mkdtempSync(join(tmpdir(), 'xtalk-ro-'));
  execFileSync('mount', ['--bind', '-o', 'ro', home, view]);
  unmounts.push(view);
  return view;
}

/** A copy of the store on a 1 MiB tmpfs, then filled up to the last byte. */
function fullDiskCopy(home: string): string {
  const disk = mountTinyDisk('1m');
  unmounts.push(disk.dir);
  for (const name of readdirSync(home)) copyFileSync(join(home, name), join(disk.dir, name));
  fillDisk(disk.dir);
  return disk.dir;
}

/** The reads of a valid session: both ways into `xtalk token` (the quick bundle and, with `--`, commander), whoami, status. */
async function expectReadsServed(env: Record<string, string | undefined>, home: string, token: string): Promise<void> {
  const before = folderState(home);
  for (const args of [['token'], ['token', '--'], ['whoami', '--json'], ['status', '--json']]) {
    const res = await runCli(args, { env: { ...env, XTALK_HOME: home } });
    expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
    expect(res.stderr).toBe('');
    if (args[0] === 'token') expect(res.stdout).toBe(token);
    else expect(res.stdout).toContain('"sub"');
  }
  // No -wal, no -shm, not a byte changed.
  expect(folderState(home)).toEqual(before);
}

function expectOneError(res: CliResult, message: RegExp): void {
  expect(res.code, res.stderr).toBe(1);
  expect(res.stdout).toBe('');
  expect(res.stderr).toMatch(message);
  expect(res.stderr.match(/✗/g)).toHaveLength(1);
  expect(res.stderr).not.toMatch(/permissions/);
}

describe.skipIf(!asRoot)('a valid token is read without writing the store', () => {
  it('from a read-only folder', async () => {
    const { env, home, token } = await session('rofolder');
    await expectReadsServed(env, readOnlyView(home), token);
  });

  it('from a full disk', async () => {
    const { env, home, token } = await session('fulldisk');
    await expectReadsServed(env, fullDiskCopy(home), token);
  });
});

describe.skipIf(!asRoot)('a write the disk cannot take is named for what it is', () => {
  it('a read-only folder: read-only, exit 1', async () => {
    const { env, home } = await session('rowrite');
    const res = await runCli(['switch', 'rowrite'], { env: { ...env, XTALK_HOME: readOnlyView(home) } });
    expectOneError(
      res,
      /^✗ cannot write .*xtalk\.db: it, its folder or its file system is read-only \(EROFS\)\n {2}hint: Remount the file system read-write/,
    );
  });

  it('logout in a read-only folder stops before revoking anything: read-only, exit 1 (not 5)', async () => {
    const { env, home } = await session('rologout');
    const res = await runCli(['logout'], { env: { ...env, XTALK_HOME: readOnlyView(home) } });
    expectOneError(res, /^✗ cannot write .*xtalk\.db: it, its folder or its file system is read-only \(EROFS\)\n/);
  });

  it('a full disk: disk full, exit 1', async () => {
    const { env, home } = await session('fullwrite');
    const res = await runCli(['switch', 'fullwrite'], { env: { ...env, XTALK_HOME: fullDiskCopy(home) } });
    expectOneError(res, /^✗ the disk holding .*xtalk\.db is full \(SQLITE_\w+\)\n {2}hint: Free some disk space/);
  });
});

describe('xtalk.key that is not a key file (file store)', () => {
  // runCli kills a child that hangs (today's readFileSync on a FIFO) after its own limit; the test
  // waits for the exit event either way, so it fails instead of hanging.
  const LIMIT_MS = 60_000;

  it.each([
    ['a FIFO', 'keyfifo', (key: string) => execFileSync('mkfifo', [key])],
    ['a link to /dev/zero', 'keyzero', (key: string) => symlinkSync('/dev/zero', key)],
  ])(
    '%s: one error line, exit 1, nothing printed on stdout',
    async (_, login, replace) => {
      const { env, home } = await session(login);
      const key = join(home, 'xtalk.key');
      rmSync(key);
      replace(key);
      const res = await runCli(['token'], { env, timeoutMs: LIMIT_MS });
      expect(res.signal, res.stderr).toBeNull();
      expect(res.code, res.stderr).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(
        new RegExp(
          `^✗ the key file ${key} is not a regular file; xtalk did not read it\\n {2}hint: The data key is kept in a regular file`,
        ),
      );
      expect(res.stderr.match(/✗/g)).toHaveLength(1);
    },
    120_000,
  );
});
