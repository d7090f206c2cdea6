import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, XTALK_BIN } from './cli.js';

/** A provider whose discovery path takes the request and never answers; `asked` resolves once it has one. */
async function silentProvider(): Promise<{ issuer: string; asked: Promise<void>; server: Server }> {
  let heard!: () => void;
  const asked = new Promise<void>((resolve) => (heard = resolve));
  const server = createServer((req) => {
    if (req.url?.startsWith('/.well-known/openid-configuration')) heard();
    // No answer, whatever the path.
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, server };
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe('xtalk login interrupted while discovery hangs', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s ends it at once with exit 130 and one line on stderr', async (signal) => {
    const provider = await silentProvider();
    servers.push(provider.server);
    const home = mkdtempSync(join(tmpdir(), 'xtalk-interrupt-'));
    const child = spawn(process.execPath, [XTALK_BIN, 'login', '--no-browser'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NO_COLOR: '1',
        XTALK_HOME: home,
        XTALK_ISSUER: provider.issuer,
        XTALK_CLIENT_ID: 'cli',
        XTALK_CREDENTIAL_STORE: 'file',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.on('exit', (code) => resolve({ code, at: performance.now() })),
    );
    const closed = once(child, 'close');
    // The child is inside discovery (the default request timeout is 30 s) when the signal comes.
    await Promise.race([provider.asked, exited.then(() => Promise.reject(new Error(`xtalk exited before discovery:\n${stderr}`)))]);
    const sentAt = performance.now();
    child.kill(signal);
    const { code, at } = await exited;
    await closed;
    expect(code, stderr).toBe(130);
    // The issue's bound: "at once" is well under a second, against the 30 s discovery timeout.
    expect(at - sentAt).toBeLessThan(1000);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual(['✗ Cancelled.']);
    expect(stderr).not.toMatch(/^\s+at |Unexpected/m);
  });
});
