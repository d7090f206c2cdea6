import { createServer } from 'node:net';
import { findBrowserLauncher } from '../auth/sign-in/method-choice.js';
import { findExecutable } from '../browser/host-probe.js';
import { splitCommandLine } from '../browser/open-browser.js';
import type { HostFacts } from '../core/ports.js';
import { KeychainUnavailableError, type KeychainPort } from '../store/keys/keychain/system-keychain.js';
import type { KeyCacheState } from '../store/keys/keychain/kernel-cache/key-cache.js';
import { fail, ok, warn, type CheckResult } from './check.js';
import { browserSetting } from '../shared/browser-setting.js';
import type { CredentialStoreMode } from '../core/oauth-terms.js';

type Env = Readonly<Record<string, string | undefined>>;

// Never created: a get of a missing entry proves the keychain answers without writing anything.
const PROBE_ACCOUNT = 'xtalk-doctor-probe';
const KEYCHAIN_FIX =
  'Unlock or start the keychain (on Linux a Secret Service such as gnome-keyring), or set XTALK_CREDENTIAL_STORE=file to keep the key in a 0600 file.';
const NO_BROWSER_FIX =
  '`xtalk login` then uses the device flow when the provider offers it, else prints the URL to open elsewhere; `--no-browser` (with ssh -L), `--manual` (paste the redirected address back) and `--device` choose explicitly, and BROWSER names a browser command.';

/**
 * With the file store the keychain is not touched at all. Otherwise one read of an entry that does
 * not exist, within the keychain's own time limit (`keychain` is already bounded).
 */
export async function checkKeychain(
  mode: CredentialStoreMode,
  keyFilePath: string,
  keychain: () => KeychainPort,
  keyCache?: string,
): Promise<CheckResult> {
  if (mode === 'file') return ok('keychain', `not used: file store in use (XTALK_CREDENTIAL_STORE=file), key in ${keyFilePath}`);
  const started = Date.now();
  try {
    await keychain().get(PROBE_ACCOUNT);
    return ok('keychain', `the OS keychain answers (${Date.now() - started} ms)${keyCache ? `; ${keyCache}` : ''}`);
  } catch (e) {
    const reason = e instanceof KeychainUnavailableError ? e.reason : e instanceof Error ? e.message : String(e);
    if (mode === 'keychain') return fail('keychain', `OS keychain unavailable: ${reason} (XTALK_CREDENTIAL_STORE=keychain)`, KEYCHAIN_FIX);
    return warn('keychain', `OS keychain unavailable: ${reason}; new keys go to a 0600 file (${keyFilePath})`, KEYCHAIN_FIX);
  }
}

/**
 * The keychain line's words on the key cache (docs/storage.md, key cache); undefined where there is
 * none (not Linux). The only place that says why a Linux host has no key cache.
 */
export function keyCacheNote(seconds: number, state: KeyCacheState): string | undefined {
  switch (state.kind) {
    case 'off':
      return 'key cache off (key_cache_seconds 0): every `xtalk token` asks the keychain';
    case 'no-addon': {
      const why =
        state.problem === 'missing'
          ? `this package has no addon built for it (${state.file})`
          : state.machines
            ? `its addon is built for ${machineName(state.machines.addon)}, this node runs on ${machineName(state.machines.node)} (${state.file})`
            : `its addon does not load (${state.detail})`;
      return `no key cache for ${state.target}: ${why}; every \`xtalk token\` asks the keychain`;
    }
    case 'on':
      return `a key read is kept ${seconds} s in the kernel session keyring (key cache)`;
    default:
      return undefined;
  }
}

const MACHINES: Record<number, string> = { 3: 'x86', 40: 'arm', 62: 'x86-64', 183: 'aarch64', 243: 'riscv' };
const machineName = (machine: number) => MACHINES[machine] ?? `ELF machine ${machine}`;

/** Whether `xtalk login` can show a browser here, decided as login decides it, plus whether BROWSER runs. */
export function checkBrowser(env: Env, platform: NodeJS.Platform, host: HostFacts): CheckResult {
  const named = browserSetting(env);
  if (named) {
    const { name } = named;
    let argv: string[];
    try {
      argv = splitCommandLine(named.value);
    } catch (e) {
      return fail('browser', e instanceof Error ? e.message : String(e), `Fix or unset ${name}.`);
    }
    const found = findExecutable(argv[0]!, env.PATH, platform);
    if (!found)
      return warn(
        'browser',
        `${name} names ${argv[0]}, which is not an executable on PATH`,
        `Fix or unset ${name}; until then, open the printed URL yourself.`,
      );
    return ok('browser', `${name}: ${found}`);
  }
  const { launcher, reason } = findBrowserLauncher({ env, platform, ...host });
  if (launcher?.kind === 'wsl') return ok('browser', `WSL: the Windows browser through ${launcher.via.path}`);
  if (launcher) {
    const display = env.WAYLAND_DISPLAY ? ` (WAYLAND_DISPLAY=${env.WAYLAND_DISPLAY})` : env.DISPLAY ? ` (DISPLAY=${env.DISPLAY})` : '';
    return ok('browser', `the system browser${platform === 'linux' ? display : ''}`);
  }
  return warn('browser', `no browser can be opened here: ${reason}`, NO_BROWSER_FIX);
}

/** Binds 127.0.0.1 on the configured port (0: any) and lets go again, as `xtalk login` would. */
export function checkLoopback(port: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      const fix =
        'Choose another port with --port or XTALK_PORT (it must match the redirect URI registered for the client), or 0 for any free port.';
      if (e.code === 'EADDRINUSE') resolve(fail('loopback', `127.0.0.1:${port} is already in use`, fix));
      else if (e.code === 'EACCES') resolve(fail('loopback', `not allowed to listen on 127.0.0.1:${port}`, fix));
      else resolve(fail('loopback', `cannot listen on 127.0.0.1:${port}: ${e.message}`, fix));
    });
    server.listen({ port, host: '127.0.0.1' }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() =>
        resolve(ok('loopback', port === 0 ? `127.0.0.1 accepts a listener on a free port (got ${bound})` : `127.0.0.1:${port} is free`)),
      );
    });
  });
}
