import { join } from 'node:path';
import { ConfigError, UsageError, XtalkError, type FactsOf } from '../errors.js';
import { browserSetting } from '../shared/browser-setting.js';
import type { CredentialStoreMode, TokenAuthMethod } from '../core/oauth-terms.js';
import { readConfigFile } from './config-file.js';
import { readDotenv } from './dotenv.js';
import { resolvePaths } from './paths.js';
import type { XtalkPaths } from '../core/context.js';
import { CONFIG_KEYS, judgeDotenv, SETTINGS, type DotenvJudgement, type SettingSource } from '../core/settings-sources.js';
import { ENV_NAMES, FILE_NAMES, type ConfigKey } from './setting-names.js';
import type { LogoutBrowser } from './parsers.js';
import { SETTING_SPECS, type ParseContext, type SettingSpec, type SettingValue } from './settings.js';

// The precedence (flags > environment > config.json > `.env` > defaults, SOURCE_ORDER in
// src/core/settings-sources.ts, which also says what a `.env` may set). The names live in
// setting-names.ts, the value parsers in parsers.ts, each setting's parser, default and flag in
// settings.ts, the file reader in config-file.ts; what importers used from here stays exported here.
export { isLoopbackHost } from '../core/url-rules.js';
export { readConfigFile } from './config-file.js';
export { checkConfigFileValue } from './settings.js';
export { DEFAULT_HTTP_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS, parseIssuer, type LogoutBrowser } from './parsers.js';
export { CONFIG_FILE_KEYS, type ConfigKey } from './setting-names.js';

export type ConfigSource = 'flag' | 'env' | '.env' | 'config' | 'default';

/** Settings a user may give on the command line; the client secret is deliberately absent. */
export interface ConfigFlags {
  issuer?: string;
  clientId?: string;
  scope?: string;
  port?: string | number;
  timeout?: string | number;
}

export interface ResolvedConfig {
  issuer: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** Undefined means "the default scopes, narrowed to what the provider supports". */
  scope: string | undefined;
  port: number;
  timeoutSeconds: number;
  /** Limit for each request to the provider (`XTALK_HTTP_TIMEOUT`), not the whole sign-in. */
  httpTimeoutSeconds: number;
  revocationEndpoint: string | undefined;
  /** Set when the user gave a full discovery URL: fetched verbatim instead of `issuer` + the well-known path. */
  discoveryUrl?: string | undefined;
  /** The ID-token `alg` this client is registered for (`XTALK_ID_TOKEN_SIGNING_ALG`); unset: the provider's keys. */
  idTokenSigningAlg?: string | undefined;
  /** How the client authenticates at the token endpoint; unset: Basic with a secret, none without. */
  tokenAuthMethod?: TokenAuthMethod | undefined;
  credentialStore: CredentialStoreMode;
  /** How long a keychain data key may stay in the kernel key cache (Linux); 0 turns the cache off. */
  keyCacheSeconds: number;
  /** Base URL for relative `xtalk api` paths. */
  apiUrl: string | undefined;
  /** Plain `http:` origins on other hosts that may get the bearer token (never from `.env`). */
  insecureHttpOrigins: string[];
  /** `always`: every `xtalk logout` also ends the provider's browser session, as with `--browser`. */
  logoutBrowser: LogoutBrowser;
  /** The browser command line (`XTALK_BROWSER`, else `BROWSER`). */
  browser: string | undefined;
  paths: XtalkPaths;
  /** Where each setting came from, for `--debug` and `xtalk doctor`. */
  sources: Partial<Record<ConfigKey, ConfigSource>>;
  /** Where each set value was read, in a user's words: `--port`, `XTALK_PORT`, `OAUTH2_CLIENT_ID in .env` … */
  origins: Partial<Record<ConfigKey, string>>;
  /**
   * The `./.env` file when it gives any value: the names used from it and every other name with why
   * not (src/core/settings-sources.ts decides), for the notice, `--debug` and `xtalk doctor`.
   */
  dotenv: (DotenvJudgement & { path: string }) | undefined;
}

export interface ResolveInput {
  flags: ConfigFlags;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  platform: NodeJS.Platform;
}

/** The core's name for each source, as SOURCE_ORDER and judgeDotenv speak of them. */
const SOURCE_NAMES: Record<ConfigSource, SettingSource> = {
  flag: 'flag',
  env: 'environment',
  '.env': '.env',
  config: 'config.json',
  default: 'default',
};

/** Merges flags > environment > config file > `.env` (four names only) > defaults, and validates the values. */
export function resolveConfig(input: ResolveInput): ResolvedConfig {
  const paths = resolvePaths(input.env, input.platform);
  const dotenv = readDotenv(input.cwd);
  const file = readConfigFile(paths.configFile);
  const sources: ResolvedConfig['sources'] = {};
  /** Where each value was read, in the words a user would search for: `--port`, `XTALK_PORT` … */
  const origins: Partial<Record<ConfigKey, string>> = {};
  const flags: Partial<Record<ConfigKey, string | number>> = { ...input.flags };

  /** The value from a source above `.env` (flag, environment, config.json), if any gives one. */
  const above = (key: ConfigKey): { source: ConfigSource; origin: string; value: string } | undefined => {
    const flagName = SETTING_SPECS[key].flag;
    const flag = flagName === null ? undefined : flags[key];
    if (flagName !== null && flag !== undefined && flag !== '') return { source: 'flag', origin: flagName, value: String(flag) };
    const v = input.env[ENV_NAMES[key]];
    if (v) return { source: 'env', origin: ENV_NAMES[key], value: v };
    const fv = file[FILE_NAMES[key]];
    if (fv !== undefined && fv !== null && fv !== '')
      return { source: 'config', origin: `"${FILE_NAMES[key]}" in ${paths.configFile}`, value: String(fv) };
    return undefined;
  };
  const setAbove: Partial<Record<ConfigKey, SettingSource>> = {};
  for (const key of CONFIG_KEYS) {
    const found = above(key);
    if (found) setAbove[key] = SOURCE_NAMES[found.source];
  }
  const judgement = judgeDotenv(dotenv, setAbove);

  const pick = (key: ConfigKey): string | undefined => {
    const found = above(key);
    const name = SETTINGS[key].dotenv;
    const picked =
      found ??
      (name !== null && judgement.used.includes(name)
        ? { source: '.env' as const, origin: `${name} in .env`, value: dotenv[name]! }
        : undefined);
    if (!picked) return undefined;
    sources[key] = picked.source;
    origins[key] = picked.origin;
    return picked.value;
  };
  /** The picked value parsed by the setting's own parser, or its default; a bad one is reported with where it came from. */
  const resolve = <K extends ConfigKey>(key: K, others: ParseContext): SettingValue<K> => {
    const spec = SETTING_SPECS[key] as unknown as SettingSpec<SettingValue<K>, SettingValue<K>>;
    const raw = pick(key);
    if (raw === undefined) {
      if (spec.defaultText !== null) sources[key] = 'default';
      return spec.default;
    }
    try {
      return spec.parse(raw, others);
    } catch (e) {
      if (!(e instanceof XtalkError) || !origins[key]) throw e;
      const typed = sources[key] === 'flag';
      // The parser's facts go along: the hint for them stays the same.
      throw new ConfigError(typed ? 'USAGE' : 'CONFIG_INVALID', `${e.message.replace(/\.$/, '')} (from ${origins[key]}).`, {
        facts: e.facts as FactsOf<'CONFIG_INVALID'>,
      });
    }
  };
  // The one setting another depends on comes first: api_url may name an origin it opts into.
  const others = { insecureHttpOrigins: resolve('insecureHttpOrigins', { insecureHttpOrigins: [] }) };
  const v = Object.fromEntries(
    CONFIG_KEYS.map((k) => [k, k === 'insecureHttpOrigins' ? others.insecureHttpOrigins : resolve(k, others)]),
  ) as unknown as {
    [K in ConfigKey]: SettingValue<K>;
  };

  return {
    issuer: v.issuer?.issuer,
    discoveryUrl: v.issuer?.discoveryUrl,
    idTokenSigningAlg: v.idTokenSigningAlg,
    tokenAuthMethod: v.tokenAuthMethod,
    clientId: v.clientId,
    clientSecret: v.clientSecret,
    scope: v.scope,
    port: v.port,
    timeoutSeconds: v.timeout,
    httpTimeoutSeconds: v.httpTimeout,
    revocationEndpoint: v.revocationEndpoint,
    credentialStore: v.credentialStore,
    keyCacheSeconds: v.keyCacheSeconds,
    apiUrl: v.apiUrl,
    insecureHttpOrigins: v.insecureHttpOrigins,
    logoutBrowser: v.logoutBrowser,
    browser: browserSetting(input.env)?.value,
    paths,
    sources,
    origins,
    dotenv: judgement.used.length > 0 || judgement.unused.length > 0 ? { path: join(input.cwd, '.env'), ...judgement } : undefined,
  };
}

/** What login, refresh and logout need: fails with a usage error naming the variables to set. */
export function requireClientConfig(config: ResolvedConfig): ResolvedConfig & { issuer: string; clientId: string } {
  const { issuer, clientId } = config;
  if (!issuer || !clientId) {
    const missing = [!issuer && 'issuer', !clientId && 'client id'].filter(Boolean).join(' and ');
    throw new UsageError('USAGE', `No ${missing} configured.`, { facts: { missing: 'client' } });
  }
  return { ...config, issuer, clientId };
}
