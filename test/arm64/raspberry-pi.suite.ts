/**
 * README "Signing in on a Raspberry Pi", proven as far as this x64 machine can: the packed xtalk,
 * installed for linux-arm64, runs under qemu-user on Node for linux-arm64 from the npm registry and
 * signs in to the local provider (on 127.0.0.1, run by this test in the machine's own Node) with the
 * device flow, then whoami, token (keychain store, key cache on), refresh and logout. For armv7
 * (Raspberry Pi OS 32-bit) the key-cache addon loads under qemu-arm; Node for armv7 on the registry
 * stops at 20.11, below our engines, so xtalk itself is not run there.
 *
 * `npm run test:arm64` (after `npm run build`); .ci/run runs it. Slow by nature: minutes on the first
 * run (downloads, better-sqlite3 cross-built), then the emulated runs themselves (see
 * test/arm64/emulated-xtalk.ts).
 *
 * qemu-user does not implement the kernel key retention syscalls (add_key, keyctl: ENOSYS), so under
 * emulation the key cache is loaded and on, but every store is refused and xtalk reads the keychain
 * each time, as it does wherever the kernel says no. The test probes that first and expects the copy
 * in the session keyring only where the emulator passes keyctl through.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keychainAccount } from '../../src/store/keys/keychain-read.js';
import { systemKeyCache } from '../../src/store/keys/keychain/kernel-cache/key-cache.js';
import {
  canStartSecretService,
  keychainCall,
  startPrivateSecretService,
  type PrivateSecretService,
} from '../integration/private-secret-service.js';
import { approveDeviceWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { median, spawnEmulated } from './emulated-process.js';
import {
  ARM64,
  ARMV7,
  armNode,
  emulatedArgv,
  installXtalkForArm64,
  missingPrerequisites,
  type ArmTarget,
  type InstalledXtalk,
} from './emulated-xtalk.js';

const log = (line: string) => process.stderr.write(`[arm64] ${line}\n`);
const ROUNDS = Number(process.env.XTALK_ARM64_ROUNDS) || 5;
const DEVICE_LINES = /open this page in a browser on any device:\n(\S+)\nand enter the code:\n\n {4}(\S+)\n/;

/** Stores a key through the addon, reads it back, forgets it: what the kernel answered, as JSON. */
const ROUND_TRIP = `
const m = { exports: {} };
process.dlopen(m, process.argv[1]);
const k = m.exports, d = 'xtalk:arm-probe-' + process.pid, key = require('node:crypto').randomBytes(32);
const exported = ['read', 'store', 'forget'].every((f) => typeof k[f] === 'function');
const stored = k.store(d, key, 60);
const back = k.read(d);
const forgot = k.forget(d);
console.log(JSON.stringify({ arch: process.arch, version: process.version, exported, stored, roundTrip: !!back && back.equals(key), forgot, after: k.read(d) }));`;

interface Probe {
  arch: string;
  version: string;
  exported: boolean;
  stored: boolean;
  roundTrip: boolean;
  forgot: boolean;
  after: unknown;
}

async function probeAddon(target: ArmTarget, node: string, addon: string): Promise<Probe> {
  const { file, args } = emulatedArgv(target, node, ['-e', ROUND_TRIP, addon]);
  const res = await spawnEmulated(file, args, { PATH: process.env.PATH }).done;
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Probe;
}

/** What the suite sees of the emulated key cache: a copy made and read back, or the kernel refused. */
function expectProbe(probe: Probe, arch: string): void {
  expect(probe).toMatchObject({ arch, exported: true });
  if (probe.roundTrip) expect(probe).toMatchObject({ stored: true, forgot: true, after: null });
  else {
    // qemu-user: add_key/keyctl are ENOSYS; the addon says no and throws nothing.
    expect(probe).toMatchObject({ stored: false, after: null });
    log(`linux-${arch}: the key-cache addon loads, but this emulator refuses keyctl (qemu-user has no add_key/keyctl): no round trip`);
  }
}

describe('xtalk on linux-arm64 under qemu-user', () => {
  let provider: TestProvider;
  let secretService: PrivateSecretService | undefined;
  let xtalk: InstalledXtalk;
  let home: string;
  let probe: Probe;

  beforeAll(async () => {
    const missing = missingPrerequisites(ARM64);
    if (!canStartSecretService && process.env.CI) missing.push('dbus-daemon and gnome-keyring-daemon (CI runs the keychain store)');
    if (missing.length) throw new Error(`the arm64 suite cannot run; missing:\n  ${missing.join('\n  ')}`);
    const started = performance.now();
    [provider, secretService, xtalk] = await Promise.all([
      startTestProvider({ deviceFlow: true }),
      canStartSecretService ? startPrivateSecretService() : undefined,
      installXtalkForArm64(log),
    ]);
    log(`set-up (Node for arm64, pack, install for arm64, addons): ${Math.round(performance.now() - started)} ms`);
    if (!secretService)
      log('no dbus-daemon/gnome-keyring-daemon here: the file store stands in for the keychain, and the key cache has nothing to keep');
    home = mkdtempSync(join(tmpdir(), 'xtalk-arm64-home-'));
    probe = await probeAddon(ARM64, xtalk.node, xtalk.keyctl);
  }, 1_200_000);
  afterAll(async () => {
    await Promise.all([provider?.stop(), secretService?.stop()]);
    xtalk?.remove();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const env = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: home,
    XTALK_HOME: home,
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
    ...(secretService
      ? { XTALK_CREDENTIAL_STORE: 'keychain', DBUS_SESSION_BUS_ADDRESS: secretService.address }
      : { XTALK_CREDENTIAL_STORE: 'file' }),
  });
  const xtalkRun = (args: string[]) => {
    const { file, args: argv } = emulatedArgv(ARM64, xtalk.node, [xtalk.bin, ...args]);
    return spawnEmulated(file, argv, env());
  };

  it('the key-cache addon for linux-arm64 loads in Node for arm64', () => {
    expect(probe.version).toBe(`v${ARM64.nodePackage.split('@')[1]}`);
    expectProbe(probe, 'arm64');
  });

  it('login --device, whoami, token (key cache on), refresh, logout', async () => {
    const step = async (name: string, run: ReturnType<typeof xtalkRun>) => {
      const res = await run.done;
      log(`xtalk ${name}: ${Math.round(res.ms)} ms`);
      expect(res.code, `xtalk ${name}:\n${res.stderr}`).toBe(0);
      return res;
    };

    const login = xtalkRun(['login', '--device', '--json']);
    const [, verificationUri, userCode] = await login.waitForStderr(DEVICE_LINES);
    await approveDeviceWithHttp(verificationUri!, { login: 'raspberry', userCode: userCode! });
    const signedIn = JSON.parse((await step('login --device', login)).stdout) as Record<string, unknown>;
    const store = secretService ? 'keychain' : 'file';
    expect(signedIn).toMatchObject({ issuer: provider.issuer, sub: 'raspberry', current: true, credential_store: store });
    expect(provider.grants.some((g) => g.grantType === 'urn:ietf:params:oauth:grant-type:device_code')).toBe(true);

    const me = JSON.parse((await step('whoami --json', xtalkRun(['whoami', '--json']))).stdout) as Record<string, unknown>;
    expect(me).toMatchObject({ issuer: provider.issuer, sub: 'raspberry' });

    // The installed loader found the arm64 addon: doctor says the key cache is on. Its line comes
    // with the keychain's answer, which has xtalk's fixed 3 s limit; the doctor's probe loads
    // @napi-rs/keyring, which under emulation on a loaded machine can take longer: then once more.
    if (secretService) {
      let detail = '';
      for (let attempt = 1; attempt <= 3 && !detail.includes('key cache'); attempt++) {
        const doctor = await xtalkRun(['doctor', '--json']).done;
        const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; detail: string }[] }).checks;
        detail = checks.find((c) => c.name === 'keychain')?.detail ?? '';
        if (!detail.includes('key cache')) log(`xtalk doctor, attempt ${attempt}: keychain: ${detail}`);
      }
      expect(detail).toContain('a key read is kept 600 s in the kernel session keyring (key cache)');
    }

    const token = (await step('token', xtalkRun(['token']))).stdout.trim();
    expect((await provider.introspect(token)).active).toBe(true);
    if (secretService) {
      const account = keychainAccount(join(home, 'xtalk.db'));
      const copy = systemKeyCache(600)!.read(account);
      // The emulated process shares this machine's kernel: its copy would be in our session keyring.
      if (probe.roundTrip) expect(copy).toEqual(Buffer.from(keychainCall(secretService.address, 'get', account) as string, 'base64'));
      else expect(copy, 'keyctl is refused under this emulator, so no copy').toBeNull();
    }
    expect((await step('token (again)', xtalkRun(['token']))).stdout.trim()).toBe(token);

    const grants = provider.refreshGrantCount();
    await step('refresh', xtalkRun(['refresh']));
    expect(provider.refreshGrantCount()).toBe(grants + 1);
    const refreshed = (await step('token (refreshed)', xtalkRun(['token']))).stdout.trim();
    expect(refreshed).not.toBe(token);
    expect((await provider.introspect(refreshed)).active).toBe(true);

    await step('logout', xtalkRun(['logout']));
    const after = await xtalkRun(['whoami']).done;
    expect(after.code, after.stderr).toBe(4);
    if (secretService) expect(keychainCall(secretService.address, 'get', keychainAccount(join(home, 'xtalk.db')))).toBeNull();
  });

  it('times xtalk token against node -e 0 under the same emulation (a report, not an assertion)', async () => {
    const login = xtalkRun(['login', '--device']);
    const [, verificationUri, userCode] = await login.waitForStderr(DEVICE_LINES);
    await approveDeviceWithHttp(verificationUri!, { login: 'raspberry', userCode: userCode! });
    expect((await login.done).code).toBe(0);
    const bare = emulatedArgv(ARM64, xtalk.node, ['-e', '0']);
    const nodeRun = () => spawnEmulated(bare.file, bare.args, env()).done;
    const tokenRun = () => xtalkRun(['token']).done;
    // One of each first: the first token run writes bin/xtalk.cjs's code cache.
    for (const first of [await nodeRun(), await tokenRun()]) expect(first.code, first.stderr).toBe(0);
    const node: number[] = [];
    const token: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved, the order alternating, so a busy moment of the machine falls on both.
      const pair = round % 2 ? [tokenRun, nodeRun] : [nodeRun, tokenRun];
      for (const run of pair) {
        const res = await run();
        expect(res.code, res.stderr).toBe(0);
        (run === nodeRun ? node : token).push(res.ms);
      }
    }
    const n = median(node);
    const t = median(token);
    const store = secretService ? 'keychain store, key cache refused by qemu' : 'file store';
    log(`timing, linux-arm64 under ${ARM64.qemu}, medians of ${ROUNDS} interleaved runs (${store}):`);
    log(`  node -e 0     ${Math.round(n)} ms`);
    log(`  xtalk token   ${Math.round(t)} ms   ${(t / n).toFixed(2)}× node -e 0, +${Math.round(t - n)} ms`);
  });
});

describe('armv7 (Raspberry Pi OS 32-bit) under qemu-arm', () => {
  it('the key-cache addon for linux-arm loads in Node for armv7 (20.11: a load test, below our engines)', async () => {
    const missing = missingPrerequisites(ARMV7);
    if (missing.length) throw new Error(`the armv7 check cannot run; missing:\n  ${missing.join('\n  ')}`);
    const probe = await probeAddon(ARMV7, armNode(ARMV7), ARMV7.prebuild);
    expect(probe.version).toBe(`v${ARMV7.nodePackage.split('@')[1]}`);
    expectProbe(probe, 'arm');
  }, 600_000);
});
