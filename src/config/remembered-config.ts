import { join } from 'node:path';
import { fileStamp } from '../shared/file-stamp.js';
import { resolveConfig, type ResolvedConfig, type ResolveInput } from './resolve.js';

type Env = ResolveInput['env'];

interface Remembered {
  config: ResolvedConfig;
  /** Every environment variable the resolution read, with the value it saw. */
  read: [name: string, value: string | undefined][];
  /** The two files it read, as they were (fileStamp). */
  dotenv: string;
  configFile: string;
}

/** Per environment object (usually `process.env`), per folder and platform. */
const memory = new WeakMap<object, Map<string, Remembered>>();

/**
 * {@link resolveConfig} for a process that asks again and again (the Node API): the last
 * resolution for the same environment object, folder and platform, as long as what it was made
 * from is unchanged — every environment variable it read still has the value it saw (a program may
 * set `process.env.XTALK_HOME` between calls), and `./.env` and config.json are the same files as
 * then (fileStamp: device, inode, size, times; or still absent). Anything else, or a file changed
 * too recently for its times to be trusted, resolves afresh. Flags never take part (programs have none).
 */
export function resolveConfigRemembered(input: Omit<ResolveInput, 'flags'>): ResolvedConfig {
  const key = `${input.platform}\0${input.cwd}`;
  const byFolder = memory.get(input.env);
  const last = byFolder?.get(key);
  const now = Date.now();
  if (last && unchanged(last, input.env, input.cwd, now)) return last.config;
  // Stamped before reading, so a change during the resolution shows next time.
  const dotenv = fileStamp(join(input.cwd, '.env'), now);
  const { env, read, enumerated } = recording(input.env);
  const config = resolveConfig({ ...input, env, flags: {} });
  const configFile = fileStamp(config.paths.configFile, now);
  if (dotenv === undefined || configFile === undefined || enumerated()) {
    byFolder?.delete(key);
  } else {
    const remembered = { config, read: [...read], dotenv, configFile };
    if (byFolder) byFolder.set(key, remembered);
    else memory.set(input.env, new Map([[key, remembered]]));
  }
  return config;
}

function unchanged(last: Remembered, env: Env, cwd: string, now: number): boolean {
  for (const [name, value] of last.read) if (env[name] !== value) return false;
  return fileStamp(join(cwd, '.env'), now) === last.dotenv && fileStamp(last.config.paths.configFile, now) === last.configFile;
}

/** `env` seen through a proxy that notes each variable read; one that lists them all cannot be remembered. */
function recording(env: Env): { env: Env; read: Map<string, string | undefined>; enumerated: () => boolean } {
  const read = new Map<string, string | undefined>();
  let listed = false;
  const proxy = new Proxy(env, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof name === 'string') read.set(name, value as string | undefined);
      return value;
    },
    has(target, name) {
      if (typeof name === 'string') read.set(name, (target as Record<string, string | undefined>)[name]);
      return Reflect.has(target, name);
    },
    ownKeys(target) {
      listed = true;
      return Reflect.ownKeys(target);
    },
  });
  return { env: proxy, read, enumerated: () => listed };
}
