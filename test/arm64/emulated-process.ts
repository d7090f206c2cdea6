import { spawn } from 'node:child_process';
import type { CliResult } from '../e2e/cli.js';

export interface EmulatedRun {
  /** Resolves with the first match of `pattern` on stderr; rejects when the process exits first. */
  waitForStderr(pattern: RegExp): Promise<RegExpExecArray>;
  /** `ms`: from spawn to exit, as the person at the terminal waits for it. */
  done: Promise<CliResult & { ms: number }>;
}

/**
 * Starts `file args…` with exactly `env`, stdin closed; SIGKILLed after `timeoutMs` (emulation is
 * slow, and slower on a loaded machine: the limit only ends a hung run, it times nothing).
 */
export function spawnEmulated(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): EmulatedRun {
  const started = performance.now();
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    wake();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult & { ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      wake();
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
  return {
    waitForStderr: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stderr);
          if (match) {
            waiters.delete(check);
            resolve(match);
          } else if (exited) {
            waiters.delete(check);
            reject(new Error(`exited before printing ${pattern}:\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
    done,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
