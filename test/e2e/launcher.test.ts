/**
 * The native launcher of `xtalk token` (dist/prebuilds/linux-<arch>/xtalk, `npm run build` first)
 * against the JavaScript CLI (`node bin/xtalk.cjs`), on a real session (file store, test provider)
 * and the machine's real session keyring.
 *
 * Whether the launcher answered itself or handed the run to Node is seen by the `node` it finds on
 * PATH: a wrapper that leaves a mark, then runs the real Node. (The launcher as built, outside an
 * installed package, has no recorded Node and looks one up on PATH.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stampOf, storeFolder, tokenCopyName } from '../../src/store/keys/keychain/kernel-cache/token-copy.js';
import { rawDb } from '../helpers/raw-db.js';
import { canActAsAnotherUser, secondUser, type SecondUser } from '../helpers/second-user.js';
import { signInWithHttp } from '../provider/http-browser.js';
import type { TestProvider } from '../provider/provider.js';
import { ROOT, runCli, type CliResult } from './cli.js';
import { signedInSession } from './offline-session.js';
import { AUTHORIZATION_URL, spawnCli } from './xtalk-process.js';

const LAUNCHER = join(ROOT, 'dist', 'prebuilds', `linux-${process.arch}`, 'xtalk');
const KEYCTL = '/usr/bin/keyctl';

// Under CI (.ci/run installs keyutils) a missing keyctl fails the run instead of skipping it.
describe.runIf(process.platform === 'linux' && (existsSync(KEYCTL) || process.env.CI === 'true'))(
  'the native launcher of xtalk token',
  () => {
    let provider: TestProvider;
    let env: Record<string, string | undefined>;
    let scratch: string;
    let marks: string;
    let pathDir: string;

    beforeAll(async () => {
      expect(existsSync(LAUNCHER), 'run `npm run build` first').toBe(true);
      ({ env, provider } = await signedInSession('launcher'));
      scratch = mkdtempSync(join(tmpdir(), 'xtalk-launcher-'));
      marks = join(scratch, 'node-ran');
      pathDir = join(scratch, 'path');
      spawnSync('mkdir', [pathDir]);
      writeFileSync(join(pathDir, 'node'), `#!/bin/sh\necho "$@" >> '${marks}'\nexec '${process.execPath}' "$@"\n`);
      chmodSync(join(pathDir, 'node'), 0o755);
    });
    afterAll(async () => {
      await provider?.stop();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    /** The launcher's run, and whether it handed the run to Node. */
    async function launch(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult & { node: boolean }> {
      rmSync(marks, { force: true });
      const res = await new Promise<CliResult>((resolve, reject) => {
        // stdin closed from the start: a launcher that answers at once has exited before a write to it.
        const child = spawn(LAUNCHER, args, {
          cwd: scratch,
          env: { HOME: process.env.HOME, ...env, PATH: `${pathDir}:/usr/bin:/bin`, ...extra } as NodeJS.ProcessEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
      return { ...res, node: existsSync(marks) };
    }
    const js = (args: string[], extra: Record<string, string | undefined> = {}) =>
      runCli(args, { env: { ...env, ...extra }, cwd: scratch });
    /** Whether the session keyring holds a copy for `--account <account>` (undefined: the current one). */
    const hasCopy = (account?: string) =>
      spawnSync(KEYCTL, ['search', '@s', 'user', tokenCopyName(account, storeFolder({ dataDir: env.XTALK_HOME! })!)]).status === 0;
    const same = (a: CliResult, b: CliResult) => ({ code: a.code, stdout: a.stdout, stderr: a.stderr, b: b.stdout });

    it('falls through on a miss with the output of the JavaScript CLI, then serves the copy that run made', async () => {
      const jsFirst = await js(['token']);
      expect(jsFirst.code, jsFirst.stderr).toBe(0);
      // refresh forgets the copy that run made: the launcher finds none.
      expect((await js(['refresh'])).code).toBe(0);
      const miss = await launch(['token']);
      expect(miss.node, 'a miss runs Node').toBe(true);
      const token = miss.stdout;
      expect(token).toMatch(/^\S+\n$/);
      const javascript = await js(['token']);
      expect({ code: miss.code, stdout: miss.stdout, stderr: miss.stderr }).toEqual({
        code: javascript.code,
        stdout: javascript.stdout,
        stderr: javascript.stderr,
      });

      for (const [args, expected] of [
        [['token'], token],
        [['token', '--format', 'raw'], token],
        [['token', '--format=raw'], token],
        [['token', '--format', 'header'], `Authorization: Bearer ${token}`],
        [['token', '--format=header', '--min-ttl', '30'], `Authorization: Bearer ${token}`],
        [['token', '--min-ttl=30.5'], token],
      ] as const) {
        const served = await launch([...args]);
        expect(served.node, `${args.join(' ')} served without Node`).toBe(false);
        expect({ code: served.code, stdout: served.stdout, stderr: served.stderr }).toEqual({ code: 0, stdout: expected, stderr: '' });
        // Byte for byte what the JavaScript CLI prints for the same line.
        const byJs = await js([...args]);
        expect(same(byJs, served)).toEqual({ code: 0, stdout: expected, stderr: '', b: expected });
      }
    }, 60_000);

    it('leaves every other line to Node: other commands, flags and forms, a --min-ttl the copy cannot honour', async () => {
      expect((await js(['token'])).code).toBe(0);
      expect((await launch(['token'])).node).toBe(false);
      for (const args of [
        ['whoami'],
        ['token', '--json'],
        ['token', '--format', 'json'],
        ['token', '--debug'],
        ['token', '--min-ttl', ' 5'],
        ['token', '--min-ttl', '5', '--min-ttl', '6'],
        ['token', '--account'],
        ['token', 'extra'],
        ['token', '--'],
        ['--version'],
      ]) {
        const res = await launch(args);
        expect(res.node, args.join(' ')).toBe(true);
        const byJs = await js(args);
        expect({ code: res.code, stderr: res.stderr }, args.join(' ')).toEqual({ code: byJs.code, stderr: byJs.stderr });
      }
      // Beyond the token's lifetime: Node refreshes, and its new token is what the launcher serves next.
      const before = (await launch(['token'])).stdout;
      // Longer than the provider's tokens last: Node refreshes, stores the new token and says no such
      // token can be had (MIN_TTL_UNSATISFIABLE, exit 2).
      const long = await launch(['token', '--min-ttl', '100000']);
      expect(long.node).toBe(true);
      expect({ code: long.code, stdout: long.stdout }, long.stderr).toEqual({ code: 2, stdout: '' });
      // The refresh changed the store: the next run asks Node once more, which makes a new copy.
      const refreshed = await launch(['token']);
      expect(refreshed.node).toBe(true);
      expect(refreshed.stdout).not.toBe(before);
      const next = await launch(['token']);
      expect(next).toMatchObject({ node: false, code: 0, stdout: refreshed.stdout });
      // Turned off: never served, whatever copy there is.
      expect((await launch(['token'], { XTALK_KEY_CACHE_SECONDS: '0' })).node).toBe(true);
      // Another environment (another XTALK_* setting) is another run's business.
      expect((await launch(['token'], { XTALK_TIMEOUT: '77' })).node).toBe(true);
      // A .env in the folder may add a notice: Node's to print.
      writeFileSync(join(scratch, '.env'), 'OAUTH2_CLIENT_ID=x\n');
      try {
        const withDotenv = await launch(['token']);
        expect(withDotenv.node).toBe(true);
        expect(withDotenv.stderr).toContain('.env');
      } finally {
        rmSync(join(scratch, '.env'));
      }
    }, 60_000);

    it('serves --account from a copy of its own, and falls through after switch, refresh, login, logout and a changed store', async () => {
      const served = async () => {
        expect((await js(['token'])).code).toBe(0);
        const res = await launch(['token']);
        expect(res.node, 'served before the change').toBe(false);
        return res.stdout;
      };
      expect((await js(['token', '--account', 'launcher'])).code).toBe(0);
      const byName = await launch(['token', '--account', 'launcher']);
      expect(byName).toMatchObject({ node: false, code: 0 });
      expect((await launch(['token', '--account=launcher'])).node).toBe(false);
      expect(byName.stdout).toBe(await served());

      expect(hasCopy() && hasCopy('launcher')).toBe(true);
      expect((await js(['switch', 'launcher'])).code).toBe(0);
      expect(hasCopy() || hasCopy('launcher'), 'switch removed the copies').toBe(false);
      expect((await launch(['token'])).node, 'after switch').toBe(true);
      expect((await launch(['token', '--account', 'launcher'])).node, 'after switch, --account').toBe(true);

      const old = await served();
      expect((await js(['refresh'])).code).toBe(0);
      expect(hasCopy(), 'refresh removed the copy').toBe(false);
      const afterRefresh = await launch(['token']);
      expect(afterRefresh.node, 'after refresh').toBe(true);
      expect(afterRefresh.stdout).not.toBe(old);

      // A write to the store by anything else (here SQLite itself, rewriting the schema version as it
      // is): the copy no longer matches it.
      await served();
      const db = rawDb(join(env.XTALK_HOME!, 'xtalk.db'));
      db.run(`PRAGMA user_version = ${Number(db.value('PRAGMA user_version'))}`);
      expect((await launch(['token'])).node, 'after a change to the store').toBe(true);

      await served();
      const cli = spawnCli(['login', '--no-browser'], { ...env });
      const [, url] = await cli.waitForStderr(AUTHORIZATION_URL);
      await signInWithHttp(url!, { login: 'launcher' });
      expect((await cli.done).code).toBe(0);
      expect(hasCopy(), 'login removed the copy').toBe(false);
      expect((await launch(['token'])).node, 'after login').toBe(true);

      await served();
      expect((await js(['logout'])).code).toBe(0);
      expect(hasCopy(), 'logout removed the copy').toBe(false);
      const out = await launch(['token']);
      expect(out.node, 'after logout').toBe(true);
      const byJs = await js(['token']);
      expect({ code: out.code, stdout: out.stdout, stderr: out.stderr }).toEqual({
        code: byJs.code,
        stdout: byJs.stdout,
        stderr: byJs.stderr,
      });
      expect(out.code).not.toBe(0);
    }, 120_000);
  },
);

const ready = process.platform === 'linux' && canActAsAnotherUser && (existsSync(KEYCTL) || process.env.CI === 'true');

describe.runIf(ready)('the launcher against another user who shares the session keyring', () => {
  let provider: TestProvider;
  let env: Record<string, string | undefined>;
  let other: SecondUser;
  let scratch: string;
  beforeAll(async () => {
    ({ env, provider } = await signedInSession('launcher-planted'));
    other = secondUser('xt26a');
    scratch = mkdtempSync(join(tmpdir(), 'xtalk-launcher-planted-'));
  });
  afterAll(async () => {
    await provider?.stop();
    other?.remove();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('a copy planted by another uid, valid in every other way, is not served; ours displaces it and they cannot read ours', async () => {
    const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as Record<string, string>;
    const folder = storeFolder({ dataDir: env.XTALK_HOME! })!;
    const stamp = stampOf(childEnv, folder, join(env.XTALK_HOME!, 'config.json'))!;
    const planted = ['xtalk-token-copy 1', Date.now() + 3_600_000, Date.now(), stamp, 'Bearer', 'PLANTED'].join('\n');
    const payload = join(scratch, 'planted');
    writeFileSync(payload, planted);
    chmodSync(scratch, 0o755);
    chmodSync(payload, 0o644);
    // In a session keyring of its own (keyctl session -) that the other user then joins by acting in
    // it: as root, setpriv keeps the session keyring, so the other uid plants into the one xtalk uses.
    const script = `
      set -e
      as_other() { setpriv --reuid=${other.uid} --regid=${other.gid} --clear-groups "$@"; }
      id=$(as_other ${KEYCTL} padd user '${tokenCopyName(undefined, folder)}' @s < '${payload}')
      as_other ${KEYCTL} setperm "$id" 0x3f3f0000
      echo "planted=$id"
      echo "first=$('${LAUNCHER}' token)"
      echo "second=$('${LAUNCHER}' token)"
      found=$(${KEYCTL} search @s user '${tokenCopyName(undefined, folder)}')
      echo "found=$found"
      echo "about=$(${KEYCTL} rdescribe "$found")"
      if as_other ${KEYCTL} pipe "$found" >/dev/null 2>&1; then echo other-read=yes; else echo other-read=no; fi
      ${KEYCTL} invalidate "$found" || true
      as_other ${KEYCTL} invalidate "$id" 2>/dev/null || true
    `;
    const res = spawnSync(KEYCTL, ['session', '-', '/bin/sh', '-c', script], { env: childEnv, cwd: scratch, encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    const out = Object.fromEntries(
      res.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const token = (await runCli(['token'], { env })).stdout.trim();
    expect(out.first, 'the planted token is never printed').toBe(token);
    expect(out.second).toBe(token);
    expect(out.found).not.toBe(out.planted);
    expect(out.about).toMatch(/^user;0;0;003f0000;xtalk:token:/);
    expect(out['other-read']).toBe('no');
    expect(readFileSync(payload, 'utf8')).toContain('PLANTED');
  }, 60_000);
});
