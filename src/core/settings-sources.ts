/**
 * Where each setting may come from: the one table that decides what a `.env` in the current folder
 * may set. A `.env` belongs to whatever folder the user happens to stand in (a cloned repository's
 * file is someone else's word), so it may supply only the four X-Talk names it exists for, and never
 * over a value the user gave in the environment or in config.json. Every door (the CLI commands, the
 * quick path, the Node API) resolves its settings through config/resolve.ts, which asks this file.
 * The rest of each setting (parser, default, flag, secret or not, description) is its descriptor in
 * config/settings.ts, keyed by the same ConfigKey.
 */

export type ConfigKey =
  | 'issuer'
  | 'clientId'
  | 'clientSecret'
  | 'scope'
  | 'port'
  | 'timeout'
  | 'httpTimeout'
  | 'revocationEndpoint'
  | 'credentialStore'
  | 'apiUrl'
  | 'logoutBrowser'
  | 'idTokenSigningAlg'
  | 'tokenAuthMethod'
  | 'keyCacheSeconds'
  | 'insecureHttpOrigins';

export interface SettingRow {
  /** The environment variable (`XTALK_…`). */
  readonly env: string;
  /** The key in config.json. */
  readonly file: string;
  /** The only name a `.env` may give it under, or null: a `.env` never sets it. Required, so every new setting decides. */
  readonly dotenv: string | null;
}

/** One row per setting; a key missing here, or a row without its `.env` decision, does not compile. */
export const SETTINGS: { readonly [K in ConfigKey]: SettingRow } = {
  issuer: { env: 'XTALK_ISSUER', file: 'issuer', dotenv: 'OIDC_DISCOVERY_ENDPOINT' },
  clientId: { env: 'XTALK_CLIENT_ID', file: 'client_id', dotenv: 'OAUTH2_CLIENT_ID' },
  clientSecret: { env: 'XTALK_CLIENT_SECRET', file: 'client_secret', dotenv: 'OAUTH2_CLIENT_SECRET' },
  scope: { env: 'XTALK_SCOPE', file: 'scope', dotenv: null },
  port: { env: 'XTALK_PORT', file: 'port', dotenv: null },
  timeout: { env: 'XTALK_TIMEOUT', file: 'timeout', dotenv: null },
  httpTimeout: { env: 'XTALK_HTTP_TIMEOUT', file: 'http_timeout', dotenv: null },
  revocationEndpoint: { env: 'XTALK_REVOCATION_ENDPOINT', file: 'revocation_endpoint', dotenv: 'OAUTH2_REVOCATION_ENDPOINT' },
  credentialStore: { env: 'XTALK_CREDENTIAL_STORE', file: 'credential_store', dotenv: null },
  apiUrl: { env: 'XTALK_API_URL', file: 'api_url', dotenv: null },
  logoutBrowser: { env: 'XTALK_LOGOUT_BROWSER', file: 'logout_browser', dotenv: null },
  idTokenSigningAlg: { env: 'XTALK_ID_TOKEN_SIGNING_ALG', file: 'id_token_signing_alg', dotenv: null },
  tokenAuthMethod: { env: 'XTALK_TOKEN_AUTH_METHOD', file: 'token_endpoint_auth_method', dotenv: null },
  keyCacheSeconds: { env: 'XTALK_KEY_CACHE_SECONDS', file: 'key_cache_seconds', dotenv: null },
  insecureHttpOrigins: { env: 'XTALK_INSECURE_HTTP_ORIGINS', file: 'insecure_http_origins', dotenv: null },
};

export const CONFIG_KEYS = Object.keys(SETTINGS) as ConfigKey[];

/** Where a value may come from, highest first: a `.env` never overrides the environment or config.json. */
export const SOURCE_ORDER = ['flag', 'environment', 'config.json', '.env', 'default'] as const;
export type SettingSource = (typeof SOURCE_ORDER)[number];

export type DotenvUnusedReason = 'not-allowed' | 'overridden' | 'unknown';

export interface DotenvJudgement {
  /** `.env` names whose values are used, in the file's order. */
  used: string[];
  /** Every other name the file gives a value, with why it is not used (and, when overridden, by what). */
  unused: { name: string; why: DotenvUnusedReason; by?: SettingSource }[];
}

/**
 * Decides what a `.env` supplies. `setAbove` holds, for each setting, the source above the `.env`
 * in {@link SOURCE_ORDER} that already gave it a value (a flag, the environment, config.json).
 * Names with an empty value are skipped: they give nothing.
 */
export function judgeDotenv(
  entries: Readonly<Record<string, string>>,
  setAbove: Partial<Record<ConfigKey, SettingSource>> = {},
): DotenvJudgement {
  const judgement: DotenvJudgement = { used: [], unused: [] };
  for (const [name, value] of Object.entries(entries)) {
    if (value === '') continue;
    const key = dotenvKey(name);
    if (key === undefined) {
      judgement.unused.push({ name, why: isXtalkName(name) ? 'not-allowed' : 'unknown' });
      continue;
    }
    const by = setAbove[key];
    if (by !== undefined && SOURCE_ORDER.indexOf(by) < SOURCE_ORDER.indexOf('.env')) judgement.unused.push({ name, why: 'overridden', by });
    else judgement.used.push(name);
  }
  return judgement;
}

/** xtalk's own variable names (settings, `XTALK_HOME`, `XTALK_BROWSER` …): the environment's alone. */
function isXtalkName(name: string): boolean {
  return name.toUpperCase().startsWith('XTALK_');
}

/** The setting a `.env` name supplies, if it is one of the allowed four. */
export function dotenvKey(name: string): ConfigKey | undefined {
  return CONFIG_KEYS.find((k) => SETTINGS[k].dotenv === name);
}
