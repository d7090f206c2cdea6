import type * as NodeOs from 'node:os';
import { join } from 'node:path';
import type { XtalkPaths } from '../core/context.js';

/**
 * `XTALK_HOME` holds everything when set; otherwise the platform's usual folders
 * (XDG on Linux, Application Support on macOS, AppData on Windows).
 */
export function resolvePaths(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): XtalkPaths {
  // node:os only without HOME: every command resolves its paths, and few machines lack HOME.
  const home = env.HOME || env.USERPROFILE || (process.getBuiltinModule('node:os') as typeof NodeOs).homedir();
  let dataDir: string;
  let configDir: string;
  if (env.XTALK_HOME) {
    dataDir = configDir = env.XTALK_HOME;
  } else if (platform === 'darwin') {
    dataDir = configDir = join(home, 'Library', 'Application Support', 'xtalk');
  } else if (platform === 'win32') {
    dataDir = join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'xtalk');
    configDir = join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'xtalk');
  } else {
    dataDir = join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'xtalk');
    configDir = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'xtalk');
  }
  return {
    dataDir,
    configDir,
    dbPath: join(dataDir, 'xtalk.db'),
    keyFilePath: join(dataDir, 'xtalk.key'),
    configFile: join(configDir, 'config.json'),
  };
}
