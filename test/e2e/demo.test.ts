import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runChromium, runProgram } from './cli.js';

// `npm run demo` and `npm run dev-provider` (scripts/), headless: no DISPLAY, no BROWSER, and a
// TMPDIR of the test's own, so what the demo leaves behind can be seen. Runs the built CLI.

const tmpDirs: string[] = [];
afterAll(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

function freshTmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xtalk-e2e-demo-'));
  tmpDirs.push(dir);
  return dir;
}

const demoFolders = (tmp: string) => readdirSync(tmp).filter((name) => name.startsWith('xtalk-demo-'));

/** The demo as its own process group (as a terminal runs it), so a test can press Ctrl-C on the whole group. */
function startDemo(args: string[], tmp: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmp },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  /** Resolves with the first match of `pattern` in stderr, as soon as it is there; rejects if the demo ends first. */
  const waitForStderr = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stderr);
        if (match) {
          child.stderr.off('data', check);
          resolve(match);
        }
      };
      child.stderr.on('data', check);
      void done.then(() => reject(new Error(`no ${pattern} before the demo ended:\n${stderr}`)));
      check();
    });
  return { pid: child.pid!, done, waitForStderr };
}

const DEVICE_LINES = /open this page in a browser on any device:\n(\S+)\nand enter the code:\n\n {4}(\S+)\n/;

describe('npm run demo', () => {
  it('-- --device: the demo provider offers the device flow; approved in Chromium, login and whoami finish, no temp folder stays', async () => {
    const tmp = freshTmp();
    const demo = startDemo(['--device'], tmp);
    const [, verificationUri, userCode] = await demo.waitForStderr(DEVICE_LINES);
    expect(demoFolders(tmp)).toHaveLength(1);
    const browser = await runChromium(['--login', 'demo-user', '--device-code', userCode!, verificationUri!]);
    expect(browser.code, browser.log).toBe(0);
    const res = await demo.done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+ as demo-user/);
    expect(res.stdout).toContain('demo-user');
    expect(demoFolders(tmp)).toEqual([]);
  });

  it('Ctrl-C while it waits for the sign-in: exit 130 and the temp folder (database, key) is gone', async () => {
    const tmp = freshTmp();
    const demo = startDemo(['--device'], tmp);
    await demo.waitForStderr(DEVICE_LINES);
    expect(demoFolders(tmp)).toHaveLength(1);
    process.kill(-demo.pid, 'SIGINT');
    const res = await demo.done;
    expect(res.code, res.stderr).toBe(130);
    expect(demoFolders(tmp)).toEqual([]);
  });

  it('SIGTERM to the demo alone is passed on to xtalk; the temp folder is gone', async () => {
    const tmp = freshTmp();
    const demo = startDemo(['--device'], tmp);
    await demo.waitForStderr(DEVICE_LINES);
    process.kill(demo.pid, 'SIGTERM');
    const res = await demo.done;
    expect(res.code).not.toBe(0);
    expect(demoFolders(tmp)).toEqual([]);
  });
});

describe('npm run dev-provider', () => {
  it('--help lists every flag it takes, on stdout, exit 0', async () => {
    const res = await runProgram(process.execPath, ['--import', 'tsx', 'scripts/dev-provider.ts', '--help'], { env: {} });
    expect(res.code, res.stderr).toBe(0);
    for (const flag of ['--port <n>', '--device-flow', '--hide-revocation-endpoint', '--client-secret <secret>', '--help']) {
      expect(res.stdout).toContain(flag);
    }
  });

  it('refuses an unknown flag with exit 2 and the help', async () => {
    const res = await runProgram(process.execPath, ['--import', 'tsx', 'scripts/dev-provider.ts', '--bogus'], { env: {} });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("Unknown option '--bogus'");
    expect(res.stderr).toContain('--device-flow');
  });
});
