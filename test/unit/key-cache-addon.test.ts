/**
 * Which key-cache addon a host loads (src/store/keys/keychain/kernel-cache/keyctl-addon.ts), with
 * the host injected: the file for each platform, architecture and C library, how musl is told from
 * glibc, and the reason `doctor` prints when the addon is missing or does not load.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyCacheNote } from '../../src/doctor/host-checks.js';
import { keyCacheState, systemKeyCache } from '../../src/store/keys/keychain/kernel-cache/key-cache.js';
import {
  addonArch,
  addonFile,
  elfInterpreter,
  libcOf,
  loadKeyctl,
  type AddonHost,
} from '../../src/store/keys/keychain/kernel-cache/keyctl-addon.js';

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDist = () => {
  const dir = mkdtempSync(join(tmpdir(), 'xtalk-prebuilds-'));
  temps.push(dir);
  return dir;
};

describe('the addon for a host', () => {
  it.each([
    ['linux', 'x64', 'glibc', 'linux-x64'],
    ['linux', 'arm64', 'glibc', 'linux-arm64'],
    ['linux', 'arm', 'glibc', 'linux-arm'],
    ['linux', 'x64', 'musl', 'linux-x64-musl'],
    ['linux', 'arm64', 'musl', 'linux-arm64-musl'],
    ['linux', 'arm', 'musl', 'linux-arm-musl'],
    // Not built: the armv7 build would load on a Pi 1 or Zero and then die on an armv7 instruction.
    ['linux', 'armv6', 'glibc', 'linux-armv6'],
  ] as const)('%s %s %s: dist/prebuilds/%s/keyctl.node', (platform, arch, libc, folder) => {
    expect(addonFile({ platform, arch, libc }, '/pkg/dist')).toBe(`/pkg/dist/prebuilds/${folder}/keyctl.node`);
  });

  it('armv6 is what node’s own build says (arm_version 6), not process.arch, which is `arm` for both', () => {
    expect(addonArch('arm', { arm_version: '6' })).toBe('armv6');
    expect(addonArch('arm', { arm_version: '7' })).toBe('arm');
    expect(addonArch('arm', { arm_version: 'default' })).toBe('arm');
    expect(addonArch('arm64', {})).toBe('arm64');
    expect(addonArch('x64', process.config.variables)).toBe('x64');
  });

  it('is looked for beside the code: src/ while testing, dist/ once built', () => {
    expect(addonFile({ platform: 'linux', arch: 'arm64', libc: 'glibc' })).toBe(
      join(process.cwd(), 'dist', 'prebuilds', 'linux-arm64', 'keyctl.node'),
    );
  });

  it.each(['darwin', 'win32'] as const)('%s has no key cache at all, so nothing to load or report', (platform) => {
    expect(systemKeyCache(600, platform)).toBeUndefined();
    const never = () => {
      throw new Error('loaded an addon on ' + platform);
    };
    expect(keyCacheState(600, platform, never)).toEqual({ kind: 'none' });
    expect(keyCacheNote(600, { kind: 'none' })).toBeUndefined();
  });
});

/** The first bytes of an ELF executable whose PT_INTERP names `interp` (after one PT_LOAD). */
function elfHead(interp: string, wide: boolean): Buffer {
  const head = Buffer.alloc(512);
  head.writeUInt32BE(0x7f454c46, 0);
  head[4] = wide ? 2 : 1;
  head[5] = 1;
  const [phoffAt, phentsizeAt, phnumAt, phentsize] = wide ? [32, 54, 56, 56] : [28, 42, 44, 32];
  const phoff = wide ? 64 : 52;
  if (wide) head.writeBigUInt64LE(BigInt(phoff), phoffAt);
  else head.writeUInt32LE(phoff, phoffAt);
  head.writeUInt16LE(phentsize, phentsizeAt);
  head.writeUInt16LE(2, phnumAt);
  const interpAt = phoff + 2 * phentsize;
  const ph = phoff + phentsize;
  head.writeUInt32LE(1, phoff); // PT_LOAD
  head.writeUInt32LE(3, ph); // PT_INTERP
  if (wide) {
    head.writeBigUInt64LE(BigInt(interpAt), ph + 8);
    head.writeBigUInt64LE(BigInt(interp.length + 1), ph + 32);
  } else {
    head.writeUInt32LE(interpAt, ph + 4);
    head.writeUInt32LE(interp.length + 1, ph + 16);
  }
  head.write(`${interp}\0`, interpAt, 'latin1');
  return head;
}

describe('musl or glibc, from the dynamic loader node names', () => {
  it.each([
    ['/lib64/ld-linux-x86-64.so.2', true, 'glibc'],
    ['/lib/ld-linux-aarch64.so.1', true, 'glibc'],
    ['/lib/ld-linux-armhf.so.3', false, 'glibc'],
    ['/lib/ld-musl-x86_64.so.1', true, 'musl'],
    ['/lib/ld-musl-aarch64.so.1', true, 'musl'],
    ['/lib/ld-musl-armhf.so.1', false, 'musl'],
  ] as const)('%s (%s-bit header): %s', (interp, wide, libc) => {
    const head = elfHead(interp, wide);
    expect(elfInterpreter(head)).toBe(interp);
    const file = join(tempDist(), 'node');
    writeFileSync(file, head);
    expect(libcOf(file)).toBe(libc);
  });

  it('reads this machine’s node (a glibc build here) and takes what it cannot read for glibc', () => {
    expect(libcOf(process.execPath)).toBe('glibc');
    expect(libcOf(join(tempDist(), 'absent'))).toBe('glibc');
    expect(elfInterpreter(Buffer.from('#!/bin/sh\n'.padEnd(64)))).toBeUndefined();
  });
});

describe('no addon: the reason doctor prints', () => {
  const arm64: AddonHost = { platform: 'linux', arch: 'arm64', libc: 'glibc' };

  it('missing: not built for this host (a musl machine, or an architecture the package lacks)', () => {
    const dist = tempDist();
    const musl: AddonHost = { platform: 'linux', arch: 'x64', libc: 'musl' };
    const load = loadKeyctl(musl, dist);
    expect(load).toMatchObject({ addon: null, target: 'linux-x64-musl', problem: 'missing' });
    const state = keyCacheState(600, 'linux', () => load);
    expect(keyCacheNote(600, state)).toBe(
      `no key cache for linux-x64-musl: this package has no addon built for it (${join(dist, 'prebuilds', 'linux-x64-musl', 'keyctl.node')}); every \`xtalk token\` asks the keychain`,
    );
  });

  it('unloadable: there, but the dynamic loader refuses it, with its own words', () => {
    const dist = tempDist();
    const file = addonFile(arm64, dist);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'not an ELF file'.padEnd(1024, '.'));
    const load = loadKeyctl(arm64, dist);
    expect(load).toMatchObject({ addon: null, target: 'linux-arm64', problem: 'unloadable' });
    const note = keyCacheNote(
      600,
      keyCacheState(600, 'linux', () => load),
    );
    expect(note).toMatch(
      /^no key cache for linux-arm64: its addon does not load \(.*keyctl\.node: invalid ELF header\); every `xtalk token` asks the keychain$/,
    );
  });

  it('turned off, nothing is loaded and doctor says so instead', () => {
    const never = () => {
      throw new Error('loaded the addon with the cache off');
    };
    expect(keyCacheNote(0, keyCacheState(0, 'linux', never))).toBe(
      'key cache off (key_cache_seconds 0): every `xtalk token` asks the keychain',
    );
  });
});
