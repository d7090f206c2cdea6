import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './cli.js';

// Each run is bounded: a CLI that blocks on a FIFO or reads /dev/zero is killed and fails the test.
const LIMIT_MS = 15_000;

function folder(): string {
  return mkdtempSync(join(tmpdir(), 'xtalk-settings-'));
}

async function status(cwd: string, home: string): Promise<CliResult> {
  const started = Date.now();
  const r = await runCli(['status'], { env: { XTALK_HOME: home, XTALK_CREDENTIAL_STORE: 'file' }, cwd, timeoutMs: LIMIT_MS });
  expect(r.signal, `killed after ${Date.now() - started} ms: ${r.stderr}`).toBeNull();
  return r;
}

function expectRefused(r: CliResult, path: string, kind: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toContain(`✗ The ${path.endsWith('.env') ? '.env file' : 'config file'} ${path} is not a regular file (it is `);
  expect(r.stderr).toMatch(kind);
  expect(r.stderr).toMatch(/^ {2}hint: /m);
  expect(r.stdout).toBe('');
}

describe('.env and config.json must be small regular files', () => {
  it('a FIFO named .env is refused at once, not waited on', async () => {
    const cwd = folder();
    execFileSync('mkfifo', [join(cwd, '.env')]);
    expectRefused(await status(cwd, folder()), join(cwd, '.env'), /a named pipe \(FIFO\)/);
  });

  it('.env -> /dev/zero is refused without reading it', async () => {
    const cwd = folder();
    symlinkSync('/dev/zero', join(cwd, '.env'));
    expectRefused(await status(cwd, folder()), join(cwd, '.env'), /a character device/);
  });

  it('a FIFO or /dev/zero as config.json is refused the same way', async () => {
    const fifoHome = folder();
    execFileSync('mkfifo', [join(fifoHome, 'config.json')]);
    expectRefused(await status(folder(), fifoHome), join(fifoHome, 'config.json'), /a named pipe \(FIFO\)/);
    const zeroHome = folder();
    symlinkSync('/dev/zero', join(zeroHome, 'config.json'));
    expectRefused(await status(folder(), zeroHome), join(zeroHome, 'config.json'), /a character device/);
  });

  it('a .env over 64 KiB is refused; one of 64 KiB is read; a folder named .env is ignored', async () => {
    const big = folder();
    writeFileSync(join(big, '.env'), `XTALK_ISSUER=https://a.example\n# ${'x'.repeat(64 * 1024)}\n`);
    const r = await status(big, folder());
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`is larger than 64 KiB`);

    const fits = folder();
    const line = 'XTALK_SCOPE=openid\n';
    writeFileSync(join(fits, '.env'), line + '#'.repeat(64 * 1024 - line.length - 1) + '\n');
    expect((await status(fits, folder())).code).toBe(0);

    const venv = folder();
    execFileSync('mkdir', [join(venv, '.env')]);
    expect((await status(venv, folder())).code).toBe(0);
  });
});
