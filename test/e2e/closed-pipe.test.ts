import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { XTALK_BIN } from './cli.js';
import { offlineSession } from './offline-session.js';

/** Runs the built CLI with a stdout whose reader is gone before the first write. */
function runIntoClosedPipe(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [XTALK_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    // Like `| head -0`: the reading end closes at once, so every write of the child fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a closed stdout pipe', () => {
  it.each([['--help'], ['completion', 'bash'], ['login', '--help']])('xtalk %s stops quietly (exit 0, no stack trace)', async (...args) => {
    const { code, stderr } = await runIntoClosedPipe(args);
    expect(stderr).not.toMatch(/EPIPE|Unhandled|^\s+at /m);
    expect(code).toBe(0);
  });

  it('xtalk token and whoami --json (the quick path, which writes to the descriptor) stop quietly too', async () => {
    const { env } = await offlineSession('closedpipe');
    for (const args of [['token'], ['whoami', '--json']]) {
      const { code, stderr } = await runIntoClosedPipe(args, env);
      expect(stderr, args.join(' ')).not.toMatch(/EPIPE|Unhandled|^\s+at /m);
      expect(code, args.join(' ')).toBe(0);
    }
  });
});
