/**
 * The key-cache addons `npm run build` leaves in dist/prebuilds/ (scripts/build.mjs): one per Linux
 * the package claims, each an ELF shared object for the right machine (read from its header, not
 * from `file`), stripped, and the one for this machine loads through the loader while a foreign
 * one is reported with the loader's reason, as `doctor` prints it. Under qemu the arm builds also
 * run (test/e2e: the arm64 suite); here they are only read.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keyCacheNote } from '../../src/doctor/host-checks.js';
import { keyCacheState } from '../../src/store/keys/keychain/kernel-cache/key-cache.js';
import { addonFile, loadKeyctl, type AddonHost } from '../../src/store/keys/keychain/kernel-cache/keyctl-addon.js';

/** ELF e_machine: EM_X86_64, EM_AARCH64, EM_ARM. */
const BUILT = [
  { arch: 'x64', machine: 62, wide: true },
  { arch: 'arm64', machine: 183, wide: true },
  { arch: 'arm', machine: 40, wide: false },
] as const;
const EF_ARM_ABI_FLOAT_HARD = 0x400;
const SHT_SYMTAB = 2;

interface ElfFacts {
  wide: boolean;
  machine: number;
  flags: number;
  type: number;
  sections: { name: string; type: number }[];
}

/** The header and section names of a little-endian ELF file. */
function readElf(file: string): ElfFacts {
  const b = readFileSync(file);
  expect(b.readUInt32BE(0), `${file} is not an ELF file`).toBe(0x7f454c46);
  expect(b[5], 'little-endian').toBe(1);
  const wide = b[4] === 2;
  const word = (at: number) => (wide ? Number(b.readBigUInt64LE(at)) : b.readUInt32LE(at));
  const shoff = word(wide ? 40 : 32);
  const shentsize = b.readUInt16LE(wide ? 58 : 46);
  const shnum = b.readUInt16LE(wide ? 60 : 48);
  const shstrndx = b.readUInt16LE(wide ? 62 : 50);
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return { nameAt: b.readUInt32LE(at), type: b.readUInt32LE(at + 4), offset: word(at + (wide ? 24 : 16)) };
  };
  const names = header(shstrndx).offset;
  const sections = Array.from({ length: shnum }, (_, i) => {
    const { nameAt, type } = header(i);
    const start = names + nameAt;
    return { name: b.toString('latin1', start, b.indexOf(0, start)), type };
  });
  return { wide, machine: b.readUInt16LE(18), flags: b.readUInt32LE(wide ? 48 : 36), type: b.readUInt16LE(16), sections };
}

describe.runIf(process.platform === 'linux')('dist/prebuilds: the key-cache addons (`npm run build`)', () => {
  it.each(BUILT)('linux-$arch: a stripped shared object for machine $machine', ({ arch, machine, wide }) => {
    const file = addonFile({ platform: 'linux', arch, libc: 'glibc' });
    const elf = readElf(file);
    expect(elf.type, 'ET_DYN').toBe(3);
    expect(elf.machine).toBe(machine);
    expect(elf.wide).toBe(wide);
    // Raspberry Pi OS 32-bit is hard-float (armhf): a soft-float build would not link against its libc.
    if (arch === 'arm') expect(elf.flags & EF_ARM_ABI_FLOAT_HARD).toBe(EF_ARM_ABI_FLOAT_HARD);
    expect(elf.sections.length).toBeGreaterThan(0);
    expect(elf.sections.map((s) => s.name)).toContain('.dynsym');
    expect(elf.sections.map((s) => s.name)).not.toContain('.symtab');
    expect(elf.sections.filter((s) => s.type === SHT_SYMTAB)).toEqual([]);
  });

  it('this machine loads its own; for a foreign one doctor names both machines (glibc itself says "No such file")', () => {
    const own = loadKeyctl({ platform: 'linux', arch: process.arch, libc: 'glibc' });
    expect(own.addon && Object.keys(own.addon).sort()).toEqual(['forget', 'forgetAll', 'read', 'store']);
    const names: Record<number, string> = { 62: 'x86-64', 183: 'aarch64', 40: 'arm' };
    const node = BUILT.find((b) => b.arch === process.arch)!.machine;
    for (const { arch, machine } of BUILT.filter((b) => b.arch !== process.arch)) {
      const host: AddonHost = { platform: 'linux', arch, libc: 'glibc' };
      const load = loadKeyctl(host);
      expect(load).toMatchObject({ addon: null, problem: 'unloadable', file: addonFile(host), machines: { addon: machine, node } });
      expect(
        keyCacheNote(
          600,
          keyCacheState(600, 'linux', () => load),
        ),
      ).toBe(
        `no key cache for linux-${arch}: its addon is built for ${names[machine]}, this node runs on ${names[node]} (${addonFile(host)}); every \`xtalk token\` asks the keychain`,
      );
    }
  });
});
