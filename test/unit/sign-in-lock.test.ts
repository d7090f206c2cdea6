import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireSignInLock, signInLockPath, type SignInLockOptions } from '../../src/auth/sign-in/sign-in-lock.js';

const ISSUER = 'https://account.iottalk.example';

function options(dir: string, over: Partial<SignInLockOptions> = {}): SignInLockOptions {
  return {
    dir,
    issuer: ISSUER,
    pid: 1000,
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    isProcessAlive: () => true,
    timeoutMs: 5000,
    pollMs: 10,
    ...over,
  };
}

describe('the per-issuer login lock', () => {
  it('is a 0600 file holding the pid, in a 0700 data folder it creates, removed on release', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'xtalk-lock-')), 'data');
    const lock = await acquireSignInLock(options(dir));
    expect(lock.waitedFor).toBeUndefined();
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: 1000, issuer: ISSUER });
    expect(statSync(lock.path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    lock.release();
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it('differs per issuer, so logins to different providers do not wait for each other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-lock-'));
    const a = await acquireSignInLock(options(dir));
    const b = await acquireSignInLock(options(dir, { issuer: 'https://other.example', pid: 1001 }));
    expect(a.path).not.toBe(b.path);
    expect(b.waitedFor).toBeUndefined();
  });

  it('a second login reports the first (pid) and waits until it is released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-lock-'));
    const first = await acquireSignInLock(options(dir));
    const reports: number[] = [];
    let acquired = false;
    const second = acquireSignInLock(options(dir, { pid: 2000, onWait: (h) => reports.push(h.pid) })).then((l) => {
      acquired = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(acquired).toBe(false);
    expect(reports).toEqual([1000]);
    first.release();
    const lock = await second;
    expect(lock.waitedFor?.pid).toBe(1000);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(2000);
  });

  it('gives up after the timeout with the pid and the lock file in the message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-lock-'));
    await acquireSignInLock(options(dir));
    const err = await acquireSignInLock(options(dir, { pid: 2000, timeoutMs: 100 })).catch((e) => e);
    expect(err.message).toMatch(new RegExp(`waiting for the other xtalk login for ${ISSUER} \\(pid 1000\\)`));
    expect(err.hint).toContain(signInLockPath(dir, ISSUER));
  });

  it('takes over a lock whose process is gone, one past its deadline, or one with its own pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-lock-'));
    const path = signInLockPath(dir, ISSUER);
    const cases = [
      { content: { pid: 999_999, issuer: ISSUER, expiresAt: Date.now() + 60_000 }, alive: false },
      { content: { pid: 1234, issuer: ISSUER, expiresAt: Date.now() - 1 }, alive: true },
      { content: { pid: 1000, issuer: ISSUER, expiresAt: Date.now() + 60_000 }, alive: true },
    ];
    for (const { content, alive } of cases) {
      writeFileSync(path, JSON.stringify(content));
      const onWait = () => {
        throw new Error('waited for a stale lock');
      };
      const lock = await acquireSignInLock(options(dir, { isProcessAlive: () => alive, onWait }));
      expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(1000);
      lock.release();
    }
  });

  it('waits out a lock file that is still being written, and removes one left empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-lock-'));
    writeFileSync(signInLockPath(dir, ISSUER), '');
    let clock = Date.now();
    const lock = await acquireSignInLock(options(dir, { now: () => (clock += 500) }));
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(1000);
  });

  it('ends the wait on Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-lock-'));
    await acquireSignInLock(options(dir));
    const controller = new AbortController();
    const waiting = acquireSignInLock(
      options(dir, {
        pid: 2000,
        signal: controller.signal,
        sleep: (_ms, signal) => new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(new Error('cancelled')))),
      }),
    );
    controller.abort();
    await expect(waiting).rejects.toThrow('cancelled');
  });
});
