/**
 * The code paths that differ between Linux, macOS and Windows (docs/platforms.md), each with the
 * platform injected, so a Linux machine checks what the others would do. The rest of the table is
 * covered where the path lives: sign-in-method-choice, browser, store-early-key-read, loopback-peer,
 * start-link, key-cache-addon.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attachProcessEdge } from '../../src/cli/process-edge.js';
import { resolvePaths } from '../../src/config/paths.js';
import { checkBrowser } from '../../src/doctor/host-checks.js';
import { findExecutable, probeHost } from '../../src/browser/host-probe.js';
import { ensurePrivateDir, tightenMode } from '../../src/shared/private-files.js';
import { usesSecretService } from '../../src/store/keys/keychain/system-keychain.js';

const temps: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'xtalk-platforms-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('data folder', () => {
  it('macOS: one folder in Application Support for data and config', () => {
    const p = resolvePaths({ HOME: '/Users/u', XDG_DATA_HOME: '/ignored' }, 'darwin');
    const dir = join('/Users/u', 'Library', 'Application Support', 'xtalk');
    expect(p).toEqual({
      dataDir: dir,
      configDir: dir,
      dbPath: join(dir, 'xtalk.db'),
      keyFilePath: join(dir, 'xtalk.key'),
      configFile: join(dir, 'config.json'),
    });
  });

  it('Windows: data in LOCALAPPDATA (not roamed: the key file stays on the machine), config in APPDATA', () => {
    const p = resolvePaths(
      { USERPROFILE: 'C:/Users/u', LOCALAPPDATA: 'C:/Users/u/AppData/Local', APPDATA: 'C:/Users/u/AppData/Roaming' },
      'win32',
    );
    expect(p.dbPath).toBe(join('C:/Users/u/AppData/Local', 'xtalk', 'xtalk.db'));
    expect(p.keyFilePath).toBe(join('C:/Users/u/AppData/Local', 'xtalk', 'xtalk.key'));
    expect(p.configFile).toBe(join('C:/Users/u/AppData/Roaming', 'xtalk', 'config.json'));
    // Without the two variables: the same folders under the profile.
    expect(resolvePaths({ USERPROFILE: 'C:/Users/u' }, 'win32')).toMatchObject({
      dataDir: join('C:/Users/u', 'AppData', 'Local', 'xtalk'),
      configDir: join('C:/Users/u', 'AppData', 'Roaming', 'xtalk'),
    });
  });

  it('XTALK_HOME wins on every platform', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const)
      expect(resolvePaths({ XTALK_HOME: '/x' }, platform).dbPath).toBe(join('/x', 'xtalk.db'));
  });
});

describe.runIf(process.platform !== 'win32')('file modes', () => {
  const mode = (path: string) => statSync(path).mode & 0o777;

  it('Linux and macOS: a file or folder group or others can read is tightened', () => {
    for (const platform of ['linux', 'darwin'] as const) {
      const dir = tempDir();
      const file = join(dir, 'xtalk.key');
      writeFileSync(file, 'k');
      chmodSync(file, 0o644);
      tightenMode(file, 0o600, platform);
      expect(mode(file)).toBe(0o600);
      chmodSync(dir, 0o755);
      ensurePrivateDir(dir, platform);
      expect(mode(dir)).toBe(0o700);
    }
  });

  it('Windows: left alone (a mode is only the read-only bit there; the profile folder’s ACL decides)', () => {
    const dir = tempDir();
    const file = join(dir, 'xtalk.key');
    writeFileSync(file, 'k');
    chmodSync(file, 0o644);
    tightenMode(file, 0o600, 'win32');
    expect(mode(file)).toBe(0o644);
    chmodSync(dir, 0o755);
    ensurePrivateDir(dir, 'win32');
    expect(mode(dir)).toBe(0o755);
  });
});

describe('keychain', () => {
  it('Linux (and other Unixes): the Secret Service on D-Bus; macOS and Windows: the keyring library alone', () => {
    expect(usesSecretService('linux')).toBe(true);
    expect(usesSecretService('freebsd')).toBe(true);
    expect(usesSecretService('darwin')).toBe(false);
    expect(usesSecretService('win32')).toBe(false);
  });
});

describe('browser launch', () => {
  it('Windows: a BROWSER named without extension is found as name.exe; elsewhere only as named', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'firefox.exe'), '');
    chmodSync(join(dir, 'firefox.exe'), 0o755);
    expect(findExecutable('firefox', dir, 'win32')).toBe(join(dir, 'firefox.exe'));
    expect(findExecutable('firefox', dir, 'linux')).toBeUndefined();
    expect(findExecutable('firefox', dir, 'darwin')).toBeUndefined();
  });

  it('macOS and Windows: no WSL probe, and doctor promises the system browser without a display', () => {
    const host = probeHost({ PATH: '/usr/bin' }, 'darwin');
    expect(host).toEqual({ procVersion: undefined, wslview: undefined, powershell: undefined });
    for (const platform of ['darwin', 'win32'] as const) {
      expect(checkBrowser({}, platform, probeHost({}, platform))).toMatchObject({ status: 'ok', detail: 'the system browser' });
    }
    expect(checkBrowser({}, 'linux', { procVersion: 'Linux version 6.1', wslview: undefined, powershell: undefined })).toMatchObject({
      status: 'warn',
    });
  });
});

describe('signals and the console', () => {
  it('Ctrl-C (SIGINT; Node delivers it on Windows too) and SIGTERM abort the run with the signal’s name', () => {
    for (const name of ['SIGINT', 'SIGTERM'] as const) {
      const before = process.listeners(name);
      const edge = attachProcessEdge('linux');
      try {
        // Only xtalk's handler: the test runner's own must not see a signal.
        const added = process.listeners(name).filter((l) => !before.includes(l));
        expect(added).toHaveLength(1);
        added[0]!(name);
        expect(edge.signal.aborted).toBe(true);
        expect(edge.signal.reason).toBe(name);
      } finally {
        edge.detach();
      }
    }
  });

  it('Windows: stdout goes through the stream (the console wants UTF-16), elsewhere straight to the descriptor', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const linux = attachProcessEdge('linux');
    linux.writeOut('');
    linux.detach();
    expect(write).not.toHaveBeenCalled();
    const windows = attachProcessEdge('win32');
    windows.writeOut('');
    windows.detach();
    expect(write).toHaveBeenCalledWith('');
  });
});
