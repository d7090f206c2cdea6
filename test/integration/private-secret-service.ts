/**
 * A D-Bus session bus and an unlocked gnome-keyring of the test's own, so keychain tests run the
 * same with or without a desktop session, and can freeze the Secret Service (SIGSTOP) without
 * touching anyone else's. The bus has no service activation: a frozen or stopped keyring is not
 * replaced behind the test's back.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSecretService } from '../../src/store/keys/keychain/secret-service/secret-service-read.js';
import { ROOT } from '../e2e/cli.js';

export interface PrivateSecretService {
  /** DBUS_SESSION_BUS_ADDRESS of the private bus. */
  address: string;
  /** SIGSTOP / SIGCONT the keyring: a Secret Service that owns its name and never answers. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

const hasCommand = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

/** True when dbus-daemon and gnome-keyring-daemon are installed. */
export const canStartSecretService = hasCommand('dbus-daemon') && hasCommand('gnome-keyring-daemon');

/** `keyring: false`: the bus alone, with nobody owning org.freedesktop.secrets. */
export async function startPrivateSecretService(opts: { keyring?: boolean } = {}): Promise<PrivateSecretService> {
  const dir = mkdtempSync(join(tmpdir(), 'xtalk-secret-service-'));
  const config = join(dir, 'bus.conf');
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const bus = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    bus.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(line.trim());
    });
    bus.on('exit', (code) => reject(new Error(`dbus-daemon exited ${code}`)));
  });
  const stopAll = async () => {
    for (const child of [keyring, bus]) if (child) await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const keyring =
    opts.keyring === false
      ? undefined
      : spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
          env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir, DBUS_SESSION_BUS_ADDRESS: address },
          stdio: ['pipe', 'ignore', 'ignore'],
        });
  keyring?.stdin?.end('xtalk-test');
  // Registered once the Secret Service answers a Ping on the bus.
  const deadline = Date.now() + 10_000;
  while (keyring) {
    const problem = await checkSecretService(address, AbortSignal.timeout(1000));
    if (!problem) break;
    if (Date.now() > deadline) {
      await stopAll();
      throw new Error(`the private gnome-keyring did not come up: ${problem}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address,
    freeze: () => keyring?.kill('SIGSTOP'),
    thaw: () => keyring?.kill('SIGCONT'),
    stop: async () => {
      keyring?.kill('SIGCONT');
      await stopAll();
    },
  };
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs one keychain call in a child process on `address` (never in the test process: a frozen
 * Secret Service would block it), as another program deleting or reading xtalk's entry would.
 */
export function keychainCall(address: string, op: 'get' | 'delete', account: string): string | boolean | null {
  const script = `
    const { AsyncEntry } = require('@napi-rs/keyring');
    const e = new AsyncEntry('xtalk', process.argv[1], { linux: { store: 'secret-service' } });
    (process.argv[2] === 'get' ? e.getPassword() : e.deleteCredential())
      .then((v) => process.stdout.write(JSON.stringify(v ?? null)), (err) => { process.stderr.write(err.message); process.exit(1); });`;
  const run = spawnSync(process.execPath, ['-e', script, account, op], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, DBUS_SESSION_BUS_ADDRESS: address },
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (run.status !== 0) throw new Error(`keychain ${op} failed: ${run.stderr || run.error?.message}`);
  return JSON.parse(run.stdout) as string | boolean | null;
}
