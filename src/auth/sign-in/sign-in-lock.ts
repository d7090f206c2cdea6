import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XtalkError } from '../../errors.js';

/** Who holds a login lock, as written in the lock file. */
export interface LockHolder {
  pid: number;
  issuer: string;
  /** Epoch ms after which the lock counts as abandoned even if `pid` runs (pids get reused). */
  expiresAt: number;
}

export interface SignInLockOptions {
  /** The data folder; created 0700 when missing. */
  dir: string;
  issuer: string;
  pid: number;
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  signal?: AbortSignal;
  isProcessAlive(pid: number): boolean;
  /** How long this login may take, and how long to wait for another one. */
  timeoutMs: number;
  /** Called once, when another login holds the lock and this one starts to wait. */
  onWait?(holder: LockHolder, path: string): void;
  /** Default 250 ms. */
  pollMs?: number;
}

export interface SignInLock {
  path: string;
  /** The login this one waited for, if it had to. */
  waitedFor: LockHolder | undefined;
  /** Deletes the lock file if it is still this login's; idempotent. */
  release(): void;
}

// Exchanging the code and writing the store happen after the sign-in timeout may have run out.
const HOLD_MARGIN_MS = 60_000;
// O_EXCL creates the file before its content is written; an empty file older than this is debris.
const UNWRITTEN_GRACE_MS = 2000;

/** `login-<hash of the issuer>.lock` in the data folder: one sign-in per provider at a time. */
export function signInLockPath(dir: string, issuer: string): string {
  return join(dir, `login-${createHash('sha256').update(issuer).digest('hex').slice(0, 16)}.lock`);
}

/**
 * Takes the per-issuer login lock (a file created with O_EXCL holding our pid). When another live
 * login holds it, reports that once through `onWait` and waits until it is released, for at most
 * `timeoutMs`. A lock whose process is gone, or that outlived its own deadline, is removed.
 */
export async function acquireSignInLock(opts: SignInLockOptions): Promise<SignInLock> {
  const path = signInLockPath(opts.dir, opts.issuer);
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const id = randomBytes(8).toString('hex');
  const waitStart = opts.now();
  let waitedFor: LockHolder | undefined;
  for (;;) {
    const content = JSON.stringify({ pid: opts.pid, issuer: opts.issuer, id, expiresAt: opts.now() + opts.timeoutMs + HOLD_MARGIN_MS });
    if (tryCreate(path, content)) {
      return { path, waitedFor, release: () => removeIfUnchanged(path, content) };
    }
    const seen = read(path);
    if (seen === undefined) continue;
    const holder = parseHolder(seen.raw);
    if (isStale(holder, seen.mtimeMs, opts)) {
      removeIfUnchanged(path, seen.raw);
      continue;
    }
    if (holder && !waitedFor) {
      waitedFor = holder;
      opts.onWait?.(holder, path);
    }
    if (opts.now() - waitStart >= opts.timeoutMs) {
      const who = holder ? ` (pid ${holder.pid})` : '';
      throw new XtalkError(
        'ERROR',
        `Gave up after ${opts.timeoutMs / 1000} s waiting for the other xtalk login for ${opts.issuer}${who}.`,
        {
          facts: { reason: 'login_lock_wait', path },
        },
      );
    }
    await opts.sleep(opts.pollMs ?? 250, opts.signal);
  }
}

function tryCreate(path: string, content: string): boolean {
  try {
    writeFileSync(path, content, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new XtalkError('ERROR', `Cannot create the login lock ${path}: ${(e as Error).message}`, {
      facts: { reason: 'login_lock_create' },
      cause: e,
    });
  }
}

function read(path: string): { raw: string; mtimeMs: number } | undefined {
  try {
    return { raw: readFileSync(path, 'utf8'), mtimeMs: statSync(path).mtimeMs };
  } catch {
    // Released between our attempt and this read: try again.
    return undefined;
  }
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.expiresAt === 'number')
      return { pid: v.pid, issuer: String(v.issuer ?? ''), expiresAt: v.expiresAt };
  } catch {
    // Not written yet, or debris.
  }
  return undefined;
}

function isStale(holder: LockHolder | undefined, mtimeMs: number, opts: SignInLockOptions): boolean {
  if (!holder) return opts.now() - mtimeMs > UNWRITTEN_GRACE_MS;
  // Our own pid in the file is a lock left by an earlier process that had it (containers reuse pids).
  return holder.pid === opts.pid || opts.now() > holder.expiresAt || !opts.isProcessAlive(holder.pid);
}

function removeIfUnchanged(path: string, expected: string): void {
  try {
    if (readFileSync(path, 'utf8') === expected) unlinkSync(path);
  } catch {
    // Already gone.
  }
}
