import { describe, expect, it } from 'vitest';
import { chooseSignInMethod, sshForwardHint, type SignInMethodInput } from '../../src/auth/sign-in/method-choice.js';
import { UsageError } from '../../src/errors.js';

const WSL_VERSION = 'Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 11.2.0) #1 SMP';
const LINUX_VERSION = 'Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1';

function input(over: Partial<SignInMethodInput> = {}): SignInMethodInput {
  return {
    flags: {},
    env: {},
    platform: 'linux',
    procVersion: LINUX_VERSION,
    wslview: undefined,
    powershell: undefined,
    providerHasDeviceFlow: false,
    stdinIsTTY: true,
    ...over,
  };
}

describe('chooseSignInMethod without flags', () => {
  it('opens the system browser on a Linux desktop (DISPLAY or WAYLAND_DISPLAY)', () => {
    for (const env of [{ DISPLAY: ':0' }, { WAYLAND_DISPLAY: 'wayland-0' }]) {
      const choice = chooseSignInMethod(input({ env, providerHasDeviceFlow: true }));
      expect(choice).toMatchObject({ method: 'browser', launcher: { kind: 'system' }, paste: false });
      expect(choice.notice).toMatch(/--no-browser, --manual or --device/);
    }
  });

  it('opens the system browser on macOS and Windows without any display variable', () => {
    for (const platform of ['darwin', 'win32'] as const) {
      expect(chooseSignInMethod(input({ platform, procVersion: undefined }))).toMatchObject({
        method: 'browser',
        launcher: { kind: 'system' },
      });
    }
  });

  it('uses the BROWSER (or XTALK_BROWSER) command even without a display and over SSH', () => {
    for (const env of [{ BROWSER: 'w3m' }, { XTALK_BROWSER: 'lynx' }, { BROWSER: 'w3m', SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22' }]) {
      expect(chooseSignInMethod(input({ env, providerHasDeviceFlow: true }))).toMatchObject({
        method: 'browser',
        launcher: { kind: 'command' },
      });
    }
  });

  it('in an SSH session, launches nothing even with a DISPLAY: device flow when the provider offers it', () => {
    const ssh = { SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22', DISPLAY: 'localhost:10.0' };
    const choice = chooseSignInMethod(input({ env: ssh, providerHasDeviceFlow: true }));
    expect(choice).toMatchObject({ method: 'device', launcher: undefined, paste: false });
    expect(choice.notice).toMatch(/SSH session/);
    expect(choice.notice).toMatch(/--no-browser or --manual/);
    // SSH_CLIENT / SSH_TTY count too (sudo -E, older daemons)
    expect(chooseSignInMethod(input({ env: { SSH_TTY: '/dev/pts/1' }, providerHasDeviceFlow: true })).method).toBe('device');
  });

  it('in an SSH session without device flow, prints the URL and offers the paste prompt at a terminal', () => {
    const env = { SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22' };
    const choice = chooseSignInMethod(input({ env }));
    expect(choice).toMatchObject({ method: 'no-browser', launcher: undefined, paste: true });
    expect(choice.notice).toMatch(/offers no device flow/);
    expect(choice.notice).toMatch(/--manual/);
    // never a prompt for a script
    expect(chooseSignInMethod(input({ env, stdinIsTTY: false }))).toMatchObject({ method: 'no-browser', paste: false });
  });

  it('on Linux without a display (Raspberry Pi, container): device flow, else URL + paste', () => {
    const device = chooseSignInMethod(input({ providerHasDeviceFlow: true }));
    expect(device).toMatchObject({ method: 'device', launcher: undefined });
    expect(device.notice).toMatch(/neither DISPLAY nor WAYLAND_DISPLAY is set/);
    expect(chooseSignInMethod(input())).toMatchObject({ method: 'no-browser', paste: true });
  });

  it('on WSL opens through wslview, else powershell.exe, even without a display', () => {
    const wsl = { procVersion: WSL_VERSION, providerHasDeviceFlow: true };
    expect(chooseSignInMethod(input({ ...wsl, wslview: '/usr/bin/wslview', powershell: '/mnt/c/ps.exe' }))).toMatchObject({
      method: 'browser',
      launcher: { kind: 'wsl', via: { kind: 'wslview', path: '/usr/bin/wslview' } },
    });
    expect(chooseSignInMethod(input({ ...wsl, powershell: '/mnt/c/ps.exe' }))).toMatchObject({
      method: 'browser',
      launcher: { kind: 'wsl', via: { kind: 'powershell', path: '/mnt/c/ps.exe' } },
    });
  });

  it('on WSL without either opener: WSLg display, else device flow', () => {
    expect(chooseSignInMethod(input({ procVersion: WSL_VERSION, env: { DISPLAY: ':0' } }))).toMatchObject({
      method: 'browser',
      launcher: { kind: 'system' },
    });
    const choice = chooseSignInMethod(input({ procVersion: WSL_VERSION, providerHasDeviceFlow: true }));
    expect(choice.method).toBe('device');
    expect(choice.notice).toMatch(/WSL without wslview or powershell\.exe/);
  });

  it('on WSL over SSH launches nothing', () => {
    const choice = chooseSignInMethod(
      input({ procVersion: WSL_VERSION, wslview: '/usr/bin/wslview', env: { SSH_CONNECTION: '1 2 3 22' } }),
    );
    expect(choice.method).toBe('no-browser');
  });

  it('a provider with device flow does not change the choice where a browser can be shown', () => {
    expect(chooseSignInMethod(input({ env: { DISPLAY: ':0' }, providerHasDeviceFlow: true })).method).toBe('browser');
  });
});

describe('chooseSignInMethod with flags', () => {
  it('--no-browser, --manual and --device win over the environment and carry no notice', () => {
    const desktop = { env: { DISPLAY: ':0' }, providerHasDeviceFlow: true };
    expect(chooseSignInMethod(input({ ...desktop, flags: { browser: false } }))).toEqual({
      method: 'no-browser',
      launcher: undefined,
      paste: false,
      notice: undefined,
    });
    expect(chooseSignInMethod(input({ ...desktop, flags: { manual: true }, stdinIsTTY: false }))).toEqual({
      method: 'manual',
      launcher: undefined,
      paste: true,
      notice: undefined,
    });
    expect(chooseSignInMethod(input({ ...desktop, flags: { device: true } }))).toEqual({
      method: 'device',
      launcher: { kind: 'system' },
      paste: false,
      notice: undefined,
    });
  });

  it('--device opens the verification page only where a browser can be shown, never with --no-browser', () => {
    expect(chooseSignInMethod(input({ providerHasDeviceFlow: true, flags: { device: true } })).launcher).toBeUndefined();
    expect(chooseSignInMethod(input({ env: { BROWSER: 'x' }, providerHasDeviceFlow: true, flags: { device: true } })).launcher).toEqual({
      kind: 'command',
    });
    expect(
      chooseSignInMethod(input({ env: { BROWSER: 'x' }, providerHasDeviceFlow: true, flags: { device: true, browser: false } })).launcher,
    ).toBeUndefined();
  });

  it('--device without the provider offering it is a usage error explaining why', () => {
    const run = () => chooseSignInMethod(input({ flags: { device: true } }));
    expect(run).toThrow(UsageError);
    expect(run).toThrow(/device_authorization_endpoint/);
  });

  it('--device with --manual is a usage error', () => {
    expect(() => chooseSignInMethod(input({ providerHasDeviceFlow: true, flags: { device: true, manual: true } }))).toThrow(UsageError);
  });
});

describe('sshForwardHint', () => {
  it('gives the exact ssh -L command for a fixed port', () => {
    const env = { SSH_CONNECTION: '192.168.1.20 51234 192.168.1.5 22', USER: 'pi' };
    expect(sshForwardHint(env, 8765)).toBe('On your own computer, forward the port first: ssh -L 8765:127.0.0.1:8765 pi@192.168.1.5');
    expect(sshForwardHint({ ...env, SSH_CONNECTION: '192.168.1.20 51234 192.168.1.5 2222' }, 8765)).toContain(
      'ssh -L 8765:127.0.0.1:8765 -p 2222 pi@192.168.1.5',
    );
  });

  it('asks for a fixed port when the port is chosen per run, and says nothing outside SSH', () => {
    expect(sshForwardHint({ SSH_CONNECTION: '1.2.3.4 5 6.7.8.9 22' }, 0)).toMatch(/--port/);
    expect(sshForwardHint({}, 8765)).toBeUndefined();
  });
});

describe('the sign-in notices', () => {
  /** Deepest nesting of parentheses in `text` ("(a (b))" is 2). */
  const depth = (text: string) => {
    let max = 0;
    let now = 0;
    for (const c of text) {
      if (c === '(') max = Math.max(max, ++now);
      if (c === ')') now--;
    }
    return max;
  };

  it('never nest parentheses, whatever the reason no browser can be opened', () => {
    const machines: Partial<SignInMethodInput>[] = [
      {},
      { env: { SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22' } },
      { procVersion: WSL_VERSION },
      { env: { DISPLAY: ':0' } },
    ];
    for (const machine of machines) {
      for (const providerHasDeviceFlow of [true, false]) {
        const { notice } = chooseSignInMethod(input({ ...machine, providerHasDeviceFlow }));
        expect(notice, JSON.stringify(machine)).toBeDefined();
        expect(depth(notice!), notice).toBe(1);
      }
    }
  });
});
