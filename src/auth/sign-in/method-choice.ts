import type { BrowserVia } from '../../core/ports.js';
import { UsageError } from '../../errors.js';
import { browserSetting } from '../../shared/browser-setting.js';

/**
 * How a sign-in reaches the provider: `browser` launches one and waits on the loopback listener;
 * `no-browser` only prints the URL (the listener still waits, e.g. through `ssh -L`); `manual` also
 * reads the redirected address pasted on stdin; `device` is the RFC 8628 device authorization grant.
 */
export type SignInMethod = 'browser' | 'no-browser' | 'manual' | 'device';

/** How a browser can be shown: the BROWSER command, a WSL opener, or the system opener. */
export type BrowserLauncher = { kind: 'command' } | { kind: 'system' } | { kind: 'wsl'; via: BrowserVia };

export interface SignInMethodInput {
  /** `browser` is commander's negated `--no-browser`: false when given. */
  flags: { browser?: boolean | undefined; manual?: boolean | undefined; device?: boolean | undefined };
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** Contents of `/proc/version` on Linux. */
  procVersion: string | undefined;
  /** Paths of the WSL openers, when present. */
  wslview: string | undefined;
  powershell: string | undefined;
  providerHasDeviceFlow: boolean;
  /** A paste prompt is offered automatically only to a person at a terminal. */
  stdinIsTTY: boolean;
}

export interface SignInMethodChoice {
  method: SignInMethod;
  /** Set when a browser is to be launched: the sign-in page, or the device verification page. */
  launcher: BrowserLauncher | undefined;
  /** Also read a pasted redirect address from stdin while the listener waits. */
  paste: boolean;
  /** For an automatic choice: what was chosen, why, and which flag forces another. */
  notice: string | undefined;
}

/** Whether a browser can be shown on this machine, and how; `reason` says why not. */
export function findBrowserLauncher(input: Pick<SignInMethodInput, 'env' | 'platform' | 'procVersion' | 'wslview' | 'powershell'>): {
  launcher?: BrowserLauncher;
  reason: string;
} {
  const { env, platform } = input;
  // The user named a browser command: trust it, even over SSH (it may be a text browser).
  if (browserSetting(env)) return { launcher: { kind: 'command' }, reason: 'BROWSER is set' };
  if (isSshSession(env)) return { reason: 'this is an SSH session' };
  if (platform === 'darwin' || platform === 'win32') return { launcher: { kind: 'system' }, reason: 'desktop' };
  if (isWsl(input.procVersion)) {
    if (input.wslview) return { launcher: { kind: 'wsl', via: { kind: 'wslview', path: input.wslview } }, reason: 'WSL with wslview' };
    if (input.powershell)
      return { launcher: { kind: 'wsl', via: { kind: 'powershell', path: input.powershell } }, reason: 'WSL with powershell.exe' };
  }
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return { launcher: { kind: 'system' }, reason: 'a display is available' };
  return {
    reason: isWsl(input.procVersion)
      ? 'this is WSL without wslview or powershell.exe, and without a display'
      : 'neither DISPLAY nor WAYLAND_DISPLAY is set',
  };
}

/**
 * Picks the sign-in method from the flags, or — when none is given — from what this machine can
 * do: a browser when one can be shown; else the device flow when the provider offers it; else the
 * URL on stderr with the listener waiting, plus a paste prompt for a person at a terminal.
 */
export function chooseSignInMethod(input: SignInMethodInput): SignInMethodChoice {
  const { flags } = input;
  if (flags.device && flags.manual) throw new UsageError('USAGE', '--device and --manual are different ways to sign in; choose one.');
  if (flags.device) {
    if (!input.providerHasDeviceFlow) throw noDeviceFlow();
    const launcher = flags.browser === false ? undefined : findBrowserLauncher(input).launcher;
    return { method: 'device', launcher, paste: false, notice: undefined };
  }
  if (flags.manual) return { method: 'manual', launcher: undefined, paste: true, notice: undefined };
  if (flags.browser === false) return { method: 'no-browser', launcher: undefined, paste: false, notice: undefined };

  const { launcher, reason } = findBrowserLauncher(input);
  if (launcher) {
    return {
      method: 'browser',
      launcher,
      paste: false,
      notice: 'Signing in through your browser (--no-browser, --manual or --device sign in another way).',
    };
  }
  if (input.providerHasDeviceFlow) {
    return {
      method: 'device',
      launcher: undefined,
      paste: false,
      notice: `No browser can be opened here (${reason}), so xtalk uses the device flow (--no-browser or --manual use a browser redirect instead).`,
    };
  }
  return {
    method: 'no-browser',
    launcher: undefined,
    paste: input.stdinIsTTY,
    notice:
      `No browser can be opened here (${reason}) and the provider offers no device flow, so xtalk prints the URL to open elsewhere ` +
      '(--manual pastes the redirected address back; set BROWSER to name a browser command).',
  };
}

/** `--device` against a provider without the device authorization endpoint: exit 2. */
export function noDeviceFlow(issuer?: string): UsageError {
  const at = issuer ? ` at ${issuer}` : '';
  return new UsageError(
    'USAGE',
    `The provider${at} does not offer the device flow: its discovery document has no device_authorization_endpoint.`,
    { facts: { reason: 'no_device_flow' } },
  );
}

export function isSshSession(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env.SSH_CONNECTION || env.SSH_CLIENT || env.SSH_TTY);
}

export function isWsl(procVersion: string | undefined): boolean {
  return /microsoft/i.test(procVersion ?? '');
}

/**
 * The `ssh -L` line that forwards the listener's port from the user's own computer, when this runs
 * in an SSH session; `port` 0 (a new port each run) gets advice instead of a command.
 */
export function sshForwardHint(env: Readonly<Record<string, string | undefined>>, port: number): string | undefined {
  const connection = env.SSH_CONNECTION?.trim().split(/\s+/);
  if (!connection) return undefined;
  if (port === 0) {
    return 'To sign in from a browser on your own computer through ssh -L, fix the port with --port (e.g. --port 8765), or use --manual or --device.';
  }
  const [, , serverIp, serverPort] = connection;
  const user = env.USER || env.LOGNAME;
  const host = serverIp ?? 'this-host';
  const portArg = serverPort && serverPort !== '22' ? ` -p ${serverPort}` : '';
  return `On your own computer, forward the port first: ssh -L ${port}:127.0.0.1:${port}${portArg} ${user ? `${user}@` : ''}${host}`;
}
