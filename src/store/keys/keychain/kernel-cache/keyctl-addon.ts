import { basename, dirname, join } from 'node:path';
import type * as NodeFs from 'node:fs';
import { moduleFile } from '../../../../shared/module-file.js';

/** The addon built from keyctl.c (scripts/build.mjs), one per platform, architecture and C library. */
export interface Keyctl {
  read(description: string): Buffer | null;
  store(description: string, payload: Buffer, seconds: number): boolean;
  forget(description: string): boolean;
  /** Forgets each key of ours named `prefix` + lowercase hex + `suffix`; how many, or -1. */
  forgetAll(prefix: string, suffix: string): number;
}

/**
 * What picks the addon: a glibc build does not load on musl (Alpine), nor the other way round; and
 * `armv6` (a Pi 1 or Zero, process.arch `arm`) must not get the armv7 build, which would load and
 * then die on its first Thumb-2 instruction.
 */
export interface AddonHost {
  platform: NodeJS.Platform;
  arch: NodeJS.Architecture | 'armv6';
  libc: 'glibc' | 'musl';
}

/**
 * The addon, or why there is none for this host: `missing` (not built for it: the package holds
 * linux-x64, linux-arm64 and linux-arm, glibc) or `unloadable` (there, but the dynamic loader refused
 * it; `detail` is its message). The one answer to "why is there no key cache" (`doctor` words it).
 */
export type AddonLoad =
  | { addon: Keyctl }
  | {
      addon: null;
      target: string;
      file: string;
      problem: 'missing' | 'unloadable';
      detail: string;
      /** ELF e_machine of the addon and of node, when they differ (glibc then says only "No such file"). */
      machines?: { addon: number; node: number };
    };

/** `linux-arm64`, `linux-x64-musl`: the folder under dist/prebuilds/. */
export function addonTarget(host: AddonHost): string {
  return `${host.platform}-${host.arch}${host.libc === 'musl' ? '-musl' : ''}`;
}

/** dist/prebuilds/<target>/keyctl.node under `dist` (by default the dist/ of this installation). */
export function addonFile(host: AddonHost, dist: string = distDir()): string {
  return join(dist, 'prebuilds', addonTarget(host), 'keyctl.node');
}

/** Loads the addon for `host` (by default this process's), never throwing: a failure is the answer. */
export function loadKeyctl(host: AddonHost = thisHost(), dist?: string): AddonLoad {
  const target = addonTarget(host);
  const file = addonFile(host, dist);
  try {
    const module = { exports: {} as Keyctl };
    process.dlopen(module, file);
    return { addon: module.exports };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const fs = process.getBuiltinModule('node:fs') as typeof NodeFs;
    const detail = err?.message ?? String(e);
    if (!fs.existsSync(file)) return { addon: null, target, file, problem: 'missing', detail };
    const machines = { addon: elfMachine(readHead(file, 20)), node: elfMachine(readHead(process.execPath, 20)) };
    const foreign = machines.addon !== undefined && machines.node !== undefined && machines.addon !== machines.node;
    return {
      addon: null,
      target,
      file,
      problem: 'unloadable',
      detail,
      ...(foreign ? { machines: machines as { addon: number; node: number } } : {}),
    };
  }
}

/** ELF e_machine (62 x86-64, 183 aarch64, 40 arm), or undefined when `head` is no ELF header. */
export function elfMachine(head: Buffer | undefined): number | undefined {
  if (!head || head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
}

export function thisHost(): AddonHost {
  return {
    platform: process.platform,
    arch: addonArch(process.arch, process.config.variables),
    libc: process.platform === 'linux' ? libcOf(process.execPath) : 'glibc',
  };
}

/** process.arch, told apart where one name covers builds that differ: node's own build says `arm_version` 6 on armv6. */
export function addonArch(arch: NodeJS.Architecture, buildVariables: object): AddonHost['arch'] {
  return arch === 'arm' && (buildVariables as { arm_version?: unknown }).arm_version === '6' ? 'armv6' : arch;
}

/**
 * The C library a Linux executable runs on, from the dynamic loader its ELF header names
 * (/lib/ld-musl-x86_64.so.1 on musl): one read of the first 4 KB of node's own binary. Not
 * process.report's glibcVersionRuntime, which builds a whole diagnostic report (≈ 7 ms on
 * `xtalk token`'s path); not /lib/ld-musl-*, which Debian's `musl` package installs beside glibc.
 * Unreadable or without a loader named: glibc.
 */
export function libcOf(executable: string): 'glibc' | 'musl' {
  const head = readHead(executable, 4096);
  return head && elfInterpreter(head)?.includes('/ld-musl-') ? 'musl' : 'glibc';
}

/** The first `size` bytes of `file` (fewer when it is shorter), or undefined when it cannot be read. */
function readHead(file: string, size: number): Buffer | undefined {
  const fs = process.getBuiltinModule('node:fs') as typeof NodeFs;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(size);
      return head.subarray(0, fs.readSync(fd, head, 0, size, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The PT_INTERP path of an ELF file from its first bytes, or undefined when they do not hold it. */
export function elfInterpreter(head: Buffer): string | undefined {
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const wide = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (at: number) => (le ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const u32 = (at: number) => (le ? head.readUInt32LE(at) : head.readUInt32BE(at));
  const word = (at: number) => (wide ? Number(le ? head.readBigUInt64LE(at) : head.readBigUInt64BE(at)) : u32(at));
  const phoff = word(wide ? 32 : 28);
  const phentsize = u16(wide ? 54 : 42);
  const phnum = u16(wide ? 56 : 44);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + phentsize > head.length) return undefined;
    if (u32(at) !== PT_INTERP) continue;
    const offset = word(at + (wide ? 8 : 4));
    const size = word(at + (wide ? 32 : 16));
    if (offset + size > head.length) return undefined;
    return head.toString('latin1', offset, offset + size).split('\0')[0];
  }
  return undefined;
}

/** dist/, seen from this module wherever it is: dist/*.{js,cjs}, dist/chunks/*.js (the Node API), or src/…/kernel-cache/*.ts (tests). */
function distDir(): string {
  const here = dirname(moduleFile(import.meta.url));
  return basename(here) === 'dist' ? here : basename(here) === 'chunks' ? dirname(here) : join(here, '..', '..', '..', '..', '..', 'dist');
}
