/**
 * The launcher's token copy keeps the rule of what may reach a terminal: the launcher prints a copy as
 * it is, so a token or token type that core/terminal-text.ts would escape is never copied (the
 * JavaScript path, which escapes it, answers every time). Runs on the machine's real session keyring.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/store/keys/keychain/kernel-cache/key-cache.js';
import { storeFolder, systemTokenCopy, tokenCopyName } from '../../src/store/keys/keychain/kernel-cache/token-copy.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function store() {
  const dataDir = mkdtempSync(join(tmpdir(), 'xtalk-copy-'));
  dirs.push(dataDir);
  const paths = {
    dataDir,
    configDir: dataDir,
    dbPath: join(dataDir, 'xtalk.db'),
    keyFilePath: join(dataDir, 'xtalk.key'),
    configFile: join(dataDir, 'config.json'),
  };
  return { paths, folder: storeFolder(paths) as string };
}

const addon = process.platform === 'linux' ? loadAddon() : null;

describe.runIf(addon !== null)('the token copy', () => {
  const copied = (accessToken: string, tokenType = 'Bearer'): boolean => {
    const { paths, folder } = store();
    const copy = systemTokenCopy({ XTALK_HOME: paths.dataDir }, 'linux');
    const now = Date.now();
    copy?.begin(paths, 600)?.fill(undefined, { accessToken, tokenType, expiresAt: now + 3_600_000, createdAt: now }, now + 3_000_000);
    const name = tokenCopyName(undefined, folder);
    const held = addon?.read(name) ?? null;
    copy?.forget(paths);
    return held !== null && held.toString('utf8').endsWith(`\n${tokenType}\n${accessToken}`);
  };

  it('holds a plain token', () => {
    expect(copied('eyJhbGciOi.plain-token_123')).toBe(true);
  });

  it('never holds a token or type that the terminal rule would escape', () => {
    expect(copied('abc\u001b]0;owned\u0007def')).toBe(false);
    expect(copied('abc\u009bdef')).toBe(false);
    expect(copied('abc\u202edef')).toBe(false);
    expect(copied('plain', 'Bearer\u001b[2J')).toBe(false);
  });
});
