/** The names a setting goes by in each place it can be given: environment, `.env`, `config.json`. */

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

/** The variable names each key is read from, first match wins (XTALK_* before the X-Talk names). */
export const ENV_NAMES: Record<ConfigKey, string[]> = {
  issuer: ['XTALK_ISSUER'],
  clientId: ['XTALK_CLIENT_ID'],
  clientSecret: ['XTALK_CLIENT_SECRET'],
  scope: ['XTALK_SCOPE'],
  port: ['XTALK_PORT'],
  timeout: ['XTALK_TIMEOUT'],
  httpTimeout: ['XTALK_HTTP_TIMEOUT'],
  revocationEndpoint: ['XTALK_REVOCATION_ENDPOINT'],
  credentialStore: ['XTALK_CREDENTIAL_STORE'],
  apiUrl: ['XTALK_API_URL'],
  logoutBrowser: ['XTALK_LOGOUT_BROWSER'],
  idTokenSigningAlg: ['XTALK_ID_TOKEN_SIGNING_ALG'],
  tokenAuthMethod: ['XTALK_TOKEN_AUTH_METHOD'],
  keyCacheSeconds: ['XTALK_KEY_CACHE_SECONDS'],
  insecureHttpOrigins: ['XTALK_INSECURE_HTTP_ORIGINS'],
};

/** Names the X-Talk web examples put in their `.env`, accepted there only. */
export const XTALK_WEB_NAMES: Partial<Record<ConfigKey, string>> = {
  issuer: 'OIDC_DISCOVERY_ENDPOINT',
  clientId: 'OAUTH2_CLIENT_ID',
  clientSecret: 'OAUTH2_CLIENT_SECRET',
  revocationEndpoint: 'OAUTH2_REVOCATION_ENDPOINT',
};

export const FILE_NAMES: Record<ConfigKey, string> = {
  issuer: 'issuer',
  clientId: 'client_id',
  clientSecret: 'client_secret',
  scope: 'scope',
  port: 'port',
  timeout: 'timeout',
  httpTimeout: 'http_timeout',
  revocationEndpoint: 'revocation_endpoint',
  credentialStore: 'credential_store',
  apiUrl: 'api_url',
  logoutBrowser: 'logout_browser',
  idTokenSigningAlg: 'id_token_signing_alg',
  tokenAuthMethod: 'token_endpoint_auth_method',
  keyCacheSeconds: 'key_cache_seconds',
  insecureHttpOrigins: 'insecure_http_origins',
};

/**
 * Settings a `.env` in the current folder may not give: they decide how long the data key stays
 * in memory outside the keychain, or which servers may get the bearer token in clear, and a
 * folder's files are not the user's word on that.
 */
export const NOT_FROM_DOTENV: ReadonlySet<ConfigKey> = new Set<ConfigKey>(['keyCacheSeconds', 'insecureHttpOrigins']);

/** The keys `config.json` may hold, as written in the file. */
export const CONFIG_FILE_KEYS = Object.values(FILE_NAMES);
