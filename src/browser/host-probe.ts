import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { HostFacts } from '../core/ports.js';

// Where Windows keeps PowerShell when WSL interop does not put it on PATH.
const WINDOWS_POWERSHELL = '/mnt/c/Windows/System32/WindowsPowerShell/v1.0/powershell.exe';

/** Reads what login needs to know about the machine; the WSL openers are looked up only on WSL. */
export function probeHost(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): HostFacts {
  if (platform !== 'linux') return { procVersion: undefined, wslview: undefined, powershell: undefined };
  let procVersion: string | undefined;
  try {
    procVersion = readFileSync('/proc/version', 'utf8');
  } catch {
    procVersion = undefined;
  }
  if (!procVersion || !/microsoft/i.test(procVersion)) return { procVersion, wslview: undefined, powershell: undefined };
  return {
    procVersion,
    wslview: findExecutable('wslview', env.PATH),
    powershell: findExecutable('powershell.exe', env.PATH) ?? (isExecutable(WINDOWS_POWERSHELL) ? WINDOWS_POWERSHELL : undefined),
  };
}

/**
 * Where `command` would run from: itself when it is a path, else the first executable match on
 * `path` (on Windows also `command.exe`).
 */
export function findExecutable(command: string, path: string | undefined, platform: NodeJS.Platform = 'linux'): string | undefined {
  if (isAbsolute(command) || command.includes('/')) return isExecutable(command) ? command : undefined;
  const names = platform === 'win32' && !/\.[a-z]+$/i.test(command) ? [`${command}.exe`, command] : [command];
  for (const dir of (path ?? '').split(delimiter)) {
    for (const name of names) if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
