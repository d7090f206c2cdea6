/**
 * The names a setting goes by in the environment and in `config.json`, read off the core's table
 * (src/core/settings-sources.ts), which also decides what a `.env` may set.
 */
import { CONFIG_KEYS, SETTINGS, type ConfigKey } from '../core/settings-sources.js';

export type { ConfigKey } from '../core/settings-sources.js';

/** The environment variable of each key. */
export const ENV_NAMES = Object.fromEntries(CONFIG_KEYS.map((k) => [k, SETTINGS[k].env])) as Record<ConfigKey, string>;

/** The `config.json` key of each key. */
export const FILE_NAMES = Object.fromEntries(CONFIG_KEYS.map((k) => [k, SETTINGS[k].file])) as Record<ConfigKey, string>;

/** The keys `config.json` may hold, as written in the file. */
export const CONFIG_FILE_KEYS = Object.values(FILE_NAMES);
