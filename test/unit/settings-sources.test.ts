import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, judgeDotenv, SETTINGS, SOURCE_ORDER, type ConfigKey } from '../../src/core/settings-sources.js';
import { CONFIG_FILE_KEYS, ENV_NAMES, FILE_NAMES } from '../../src/config/setting-names.js';

// Every key of ResolvedConfig's `sources` is a ConfigKey; this list is checked against the type below.
const EVERY_KEY = {
  issuer: 1,
  clientId: 1,
  clientSecret: 1,
  scope: 1,
  port: 1,
  timeout: 1,
  httpTimeout: 1,
  revocationEndpoint: 1,
  credentialStore: 1,
  apiUrl: 1,
  logoutBrowser: 1,
  idTokenSigningAlg: 1,
  tokenAuthMethod: 1,
  keyCacheSeconds: 1,
  insecureHttpOrigins: 1,
} satisfies Record<ConfigKey, 1>;

describe('the settings table (src/core/settings-sources.ts)', () => {
  it('has exactly one row per ConfigKey, with distinct names', () => {
    expect([...CONFIG_KEYS].sort()).toEqual(Object.keys(EVERY_KEY).sort());
    const envs = CONFIG_KEYS.map((k) => SETTINGS[k].env);
    const files = CONFIG_KEYS.map((k) => SETTINGS[k].file);
    expect(new Set(envs).size).toBe(CONFIG_KEYS.length);
    expect(new Set(files).size).toBe(CONFIG_KEYS.length);
    for (const k of CONFIG_KEYS) expect(SETTINGS[k].env).toMatch(/^XTALK_[A-Z_]+$/);
  });

  it('lets a .env supply only the four X-Talk names, each for its own setting', () => {
    const allowed = Object.fromEntries(CONFIG_KEYS.filter((k) => SETTINGS[k].dotenv !== null).map((k) => [k, SETTINGS[k].dotenv]));
    expect(allowed).toEqual({
      issuer: 'OIDC_DISCOVERY_ENDPOINT',
      clientId: 'OAUTH2_CLIENT_ID',
      clientSecret: 'OAUTH2_CLIENT_SECRET',
      revocationEndpoint: 'OAUTH2_REVOCATION_ENDPOINT',
    });
  });

  it('puts .env below the environment and config.json', () => {
    expect(SOURCE_ORDER).toEqual(['flag', 'environment', 'config.json', '.env', 'default']);
  });

  it('is where the environment and config.json names come from', () => {
    expect(ENV_NAMES.apiUrl).toBe('XTALK_API_URL');
    expect(FILE_NAMES.tokenAuthMethod).toBe('token_endpoint_auth_method');
    expect(CONFIG_FILE_KEYS).toHaveLength(CONFIG_KEYS.length);
  });
});

describe('judgeDotenv', () => {
  it('uses the four names, and says why every other one is not used', () => {
    const judged = judgeDotenv(
      {
        OIDC_DISCOVERY_ENDPOINT: 'https://idp.example',
        OAUTH2_CLIENT_ID: 'web',
        OAUTH2_CLIENT_SECRET: 's',
        OAUTH2_REVOCATION_ENDPOINT: 'https://idp.example/revoke',
        XTALK_API_URL: 'http://127.0.0.1:9/collect',
        XTALK_ID_TOKEN_SIGNING_ALG: 'HS256',
        XTALK_KEY_CACHE_SECONDS: '86400',
        xtalk_home: '/tmp/x',
        SECRET_KEY: 'django',
        EMPTY: '',
      },
      { clientId: 'environment', clientSecret: 'config.json' },
    );
    expect(judged.used).toEqual(['OIDC_DISCOVERY_ENDPOINT', 'OAUTH2_REVOCATION_ENDPOINT']);
    expect(judged.unused).toEqual([
      { name: 'OAUTH2_CLIENT_ID', why: 'overridden', by: 'environment' },
      { name: 'OAUTH2_CLIENT_SECRET', why: 'overridden', by: 'config.json' },
      { name: 'XTALK_API_URL', why: 'not-allowed' },
      { name: 'XTALK_ID_TOKEN_SIGNING_ALG', why: 'not-allowed' },
      { name: 'XTALK_KEY_CACHE_SECONDS', why: 'not-allowed' },
      { name: 'xtalk_home', why: 'not-allowed' },
      { name: 'SECRET_KEY', why: 'unknown' },
    ]);
  });

  it('a flag overrides too; a .env value wins over nothing but the default', () => {
    expect(judgeDotenv({ OIDC_DISCOVERY_ENDPOINT: 'https://a.example' }, { issuer: 'flag' }).unused).toEqual([
      { name: 'OIDC_DISCOVERY_ENDPOINT', why: 'overridden', by: 'flag' },
    ]);
    expect(judgeDotenv({ OIDC_DISCOVERY_ENDPOINT: 'https://a.example' }, { issuer: 'default' }).used).toEqual(['OIDC_DISCOVERY_ENDPOINT']);
    expect(judgeDotenv({})).toEqual({ used: [], unused: [] });
  });
});
