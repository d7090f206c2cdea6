import { join } from 'node:path';
import { ConfigError, ExitCode, UsageError, XtalkError } from '../errors.js';
import type { CredentialStoreMode } from '../store/types.js';
import { readDotenv } from './dotenv.js';
import { resolvePaths, type XtalkPaths } from './paths.js';
import { readSettingsFile } from './small-file.js';

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
  /** Base URL for relative `xtalk api` paths. */
  apiUrl: string | undefined;
  /** `always`: every `xtalk logout` also ends the provider's browser session, as with `--browser`. */
  logoutBrowser: LogoutBrowser;
  /** The browser command line (`XTALK_BROWSER`, else `BROWSER`). */
  browser: string | undefined;
  paths: XtalkPaths;
  /** Where each setting came from, for `--debug` and `xtalk doctor`. */
  sources: Partial<Record<ConfigKey, ConfigSource>>;
  /** Where each set value was read, in a user's words: `--port`, `XTALK_PORT`, `OAUTH2_CLIENT_ID in .env` … */
  origins: Partial<Record<ConfigKey, string>>;
  /** The `./.env` file and the names taken from it, when any setting came from there. */
  dotenv: { path: string; names: string[] } | undefined;
}

/** When `xtalk logout` ends the provider's browser session without being asked (`logout_browser`). */
export type LogoutBrowser = 'always' | 'never';

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
  | 'tokenAuthMethod';

export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
const TOKEN_AUTH_METHODS: readonly TokenAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

export const DEFAULT_SCOPE = 'openid profile email offline_access';
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_HTTP_TIMEOUT_SECONDS = 30;

const DISCOVERY_SUFFIX = '/.well-known/openid-configuration';

/** The variable names each key is read from, first match wins (XTALK_* before the X-Talk names). */
const ENV_NAMES: Record<ConfigKey, string[]> = {
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
};

/** Names the X-Talk web examples put in their `.env`, accepted there only. */
const XTALK_WEB_NAMES: Partial<Record<ConfigKey, string>> = {
  issuer: 'OIDC_DISCOVERY_ENDPOINT',
  clientId: 'OAUTH2_CLIENT_ID',
  clientSecret: 'OAUTH2_CLIENT_SECRET',
  revocationEndpoint: 'OAUTH2_REVOCATION_ENDPOINT',
};

const FILE_NAMES: Record<ConfigKey, string> = {
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
};

export interface ResolveInput {
  flags: ConfigFlags;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  platform: NodeJS.Platform;
}

/** Merges flags > environment > `.env` > config file > defaults, and validates the values. */
export function resolveConfig(input: ResolveInput): ResolvedConfig {
  const paths = resolvePaths(input.env, input.platform);
  const dotenv = readDotenv(input.cwd);
  const file = readConfigFile(paths.configFile);
  const sources: ResolvedConfig['sources'] = {};
  /** Where each value was read, in the words a user would search for: `--port`, `XTALK_PORT` … */
  const origins: Partial<Record<ConfigKey, string>> = {};
  const dotenvNames: string[] = [];

  const pick = (key: ConfigKey, flag?: string | number): string | undefined => {
    if (flag !== undefined && flag !== '') {
      sources[key] = 'flag';
      origins[key] = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      return String(flag);
    }
    for (const name of ENV_NAMES[key]) {
      const v = input.env[name];
      if (v) {
        sources[key] = 'env';
        origins[key] = name;
        return v;
      }
    }
    for (const name of [...ENV_NAMES[key], XTALK_WEB_NAMES[key]]) {
      const v = name ? dotenv[name] : undefined;
      if (name && v) {
        sources[key] = '.env';
        origins[key] = `${name} in .env`;
        dotenvNames.push(name);
        return v;
      }
    }
    const fv = file[FILE_NAMES[key]];
    if (fv !== undefined && fv !== null && fv !== '') {
      sources[key] = 'config';
      origins[key] = `"${FILE_NAMES[key]}" in ${paths.configFile}`;
      return String(fv);
    }
    return undefined;
  };
  /** Parses a picked value; a bad one is reported with where it came from. */
  const parse = <T>(key: ConfigKey, raw: string | undefined, fallback: T, parser: (raw: string) => T): T => {
    if (raw === undefined) return fallback;
    try {
      return parser(raw);
    } catch (e) {
      if (!(e instanceof XtalkError) || !origins[key]) throw e;
      const typed = sources[key] === 'flag';
      throw new ConfigError(`${e.message.replace(/\.$/, '')} (from ${origins[key]}).`, e.hint, typed ? ExitCode.Usage : ExitCode.Error);
    }
  };

  const issuer = pick('issuer', input.flags.issuer);
  const revocationEndpoint = pick('revocationEndpoint');
  const port = pick('port', input.flags.port);
  const timeout = pick('timeout', input.flags.timeout);
  const httpTimeout = pick('httpTimeout');
  const store = pick('credentialStore');
  const apiUrl = pick('apiUrl');
  const logoutBrowser = pick('logoutBrowser');
  const idTokenAlg = pick('idTokenSigningAlg');
  const authMethod = pick('tokenAuthMethod');
  const where = parse('issuer', issuer, undefined, parseIssuer);
  for (const k of ['port', 'timeout', 'httpTimeout', 'credentialStore', 'scope'] as const) sources[k] ??= 'default';

  return {
    issuer: where?.issuer,
    discoveryUrl: where?.discoveryUrl,
    idTokenSigningAlg: parse('idTokenSigningAlg', idTokenAlg, undefined, parseSigningAlg),
    tokenAuthMethod: parse('tokenAuthMethod', authMethod, undefined, parseTokenAuthMethod),
    clientId: pick('clientId', input.flags.clientId),
    clientSecret: pick('clientSecret'),
    scope: pick('scope', input.flags.scope),
    port: parse('port', port, 0, parsePort),
    timeoutSeconds: parse('timeout', timeout, DEFAULT_TIMEOUT_SECONDS, parseTimeout),
    httpTimeoutSeconds: parse('httpTimeout', httpTimeout, DEFAULT_HTTP_TIMEOUT_SECONDS, parseHttpTimeout),
    revocationEndpoint: parse('revocationEndpoint', revocationEndpoint, undefined, (v) => checkEndpointUrl(v, 'revocation endpoint')),
    credentialStore: parse('credentialStore', store, 'auto', parseCredentialStore),
    apiUrl: parse('apiUrl', apiUrl, undefined, (v) => checkEndpointUrl(v, 'API URL')),
    logoutBrowser: parse('logoutBrowser', logoutBrowser, 'never', parseLogoutBrowser),
    browser: input.env.XTALK_BROWSER || input.env.BROWSER || undefined,
    paths,
    sources,
    origins,
    dotenv: dotenvNames.length > 0 ? { path: join(input.cwd, '.env'), names: dotenvNames } : undefined,
  };
}

/** What login, refresh and logout need: fails with a usage error naming the variables to set. */
export function requireClientConfig(config: ResolvedConfig): ResolvedConfig & { issuer: string; clientId: string } {
  const { issuer, clientId } = config;
  if (!issuer || !clientId) {
    const missing = [!issuer && 'issuer', !clientId && 'client id'].filter(Boolean).join(' and ');
    throw new UsageError(
      `No ${missing} configured.`,
      'Set XTALK_ISSUER and XTALK_CLIENT_ID (and XTALK_CLIENT_SECRET for a confidential client), pass --issuer/--client-id, or use an X-Talk .env with OIDC_DISCOVERY_ENDPOINT and OAUTH2_CLIENT_ID.',
    );
  }
  return { ...config, issuer, clientId };
}

/** True for hosts that never leave the machine: only these may use plain `http:`. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The issuer exactly as given (a trailing slash is part of it: issuers compare byte for byte), or,
 * for a full discovery URL (with or without a trailing slash), the URL before the well-known path
 * plus that URL itself, fetched verbatim.
 */
export function parseIssuer(raw: string): { issuer: string; discoveryUrl: string | undefined } {
  const given = checkEndpointUrl(raw, 'issuer');
  const at = given.endsWith(`${DISCOVERY_SUFFIX}/`) ? given.length - DISCOVERY_SUFFIX.length - 1 : given.endsWith(DISCOVERY_SUFFIX) ? given.length - DISCOVERY_SUFFIX.length : -1;
  if (at < 0) return { issuer: given, discoveryUrl: undefined };
  return { issuer: checkEndpointUrl(given.slice(0, at), 'issuer'), discoveryUrl: given };
}

function parseSigningAlg(raw: string): string {
  const v = raw.trim();
  // JWS algorithm names (RFC 7518): letters and digits; "none" is never acceptable for an ID token.
  if (/^[A-Za-z][A-Za-z0-9]{2,15}$/.test(v) && v.toLowerCase() !== 'none') return v;
  throw new ConfigError(`Unknown ID-token signing algorithm "${raw}".`, 'Use the alg the client is registered for, e.g. XTALK_ID_TOKEN_SIGNING_ALG=HS256 or RS256 (or unset it).');
}

function parseTokenAuthMethod(raw: string): TokenAuthMethod {
  const v = raw.trim() as TokenAuthMethod;
  if (TOKEN_AUTH_METHODS.includes(v)) return v;
  throw new ConfigError(`Unknown token endpoint auth method "${raw}".`, `Use one of ${TOKEN_AUTH_METHODS.join(', ')} (or unset it).`);
}

function checkEndpointUrl(raw: string, what: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`The ${what} "${raw}" is not a URL.`, `Give the full URL, e.g. https://account.iottalk.tw`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) return raw.trim();
  throw new ConfigError(
    `The ${what} must use https: (plain http: is allowed only on 127.0.0.1, ::1 or localhost), got ${url.protocol}//${url.host}.`,
    `Use the https:// address of the provider.`,
  );
}

function parsePort(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > 65535) {
    throw new ConfigError(`Invalid port "${raw}".`, 'Use a number from 1 to 65535, or 0 for any free port.');
  }
  return n;
}

function parseTimeout(raw: string): number {
  const n = Number(raw.trim().replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) {
    throw new ConfigError(`Invalid timeout "${raw}".`, 'Give the number of seconds to wait, e.g. --timeout 120.');
  }
  return n;
}

function parseHttpTimeout(raw: string): number {
  const n = Number(raw.trim().replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) {
    throw new ConfigError(`Invalid HTTP timeout "${raw}".`, 'Give the seconds each request to the provider may take, e.g. XTALK_HTTP_TIMEOUT=30.');
  }
  return n;
}

function parseCredentialStore(raw: string): CredentialStoreMode {
  const v = raw.trim().toLowerCase();
  if (v === 'keychain' || v === 'file' || v === 'auto') return v;
  throw new ConfigError(`Unknown credential store "${raw}".`, 'Set XTALK_CREDENTIAL_STORE to "keychain" or "file" (or unset it).');
}

function parseLogoutBrowser(raw: string): LogoutBrowser {
  const v = raw.trim().toLowerCase();
  if (v === 'always' || v === 'never') return v;
  throw new ConfigError(`Unknown logout_browser value "${raw}".`, 'Use "always" (every `xtalk logout` also signs out of the provider in the browser) or "never".');
}

/** The keys `config.json` may hold, as written in the file. */
export const CONFIG_FILE_KEYS = Object.values(FILE_NAMES);

/**
 * Checks a value for a `config.json` key exactly as resolveConfig will read it, and returns what
 * to store (numbers for port and timeout).
 */
export function checkConfigFileValue(name: string, raw: string): string | number {
  const key = (Object.keys(FILE_NAMES) as ConfigKey[]).find((k) => FILE_NAMES[k] === name);
  if (!key) throw new ConfigError(`Unknown setting "${name}".`, `Known settings: ${CONFIG_FILE_KEYS.join(', ')}.`);
  switch (key) {
    case 'issuer':
      parseIssuer(raw);
      return raw.trim();
    case 'idTokenSigningAlg':
      return parseSigningAlg(raw);
    case 'tokenAuthMethod':
      return parseTokenAuthMethod(raw);
    case 'revocationEndpoint':
      return checkEndpointUrl(raw, 'revocation endpoint');
    case 'port':
      return parsePort(raw);
    case 'timeout':
      return parseTimeout(raw);
    case 'httpTimeout':
      return parseHttpTimeout(raw);
    case 'credentialStore':
      return parseCredentialStore(raw);
    case 'apiUrl':
      return checkEndpointUrl(raw, 'API URL');
    case 'logoutBrowser':
      return parseLogoutBrowser(raw);
    default:
      if (!raw.trim()) throw new ConfigError(`The ${name} must not be empty.`, `Use \`xtalk config unset ${name}\` to remove it.`);
      return raw.trim();
  }
}

/** The config file as an object; a missing file is an empty one. */
export function readConfigFile(path: string): Record<string, unknown> {
  const text = readSettingsFile(path, 'config file');
  if (text === undefined) return {};
  // Editors on Windows save UTF-8 with a byte-order mark, which JSON.parse refuses.
  const json = text.replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    // Not the parser's message: it quotes the file, which may hold the client secret.
    throw new ConfigError(`The config file ${path} is not a JSON object: the JSON is broken${jsonErrorPlace(json, e)}.`, FIX_CONFIG_FILE);
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  throw new ConfigError(`The config file ${path} is not a JSON object.`, FIX_CONFIG_FILE);
}

const FIX_CONFIG_FILE = 'Fix or delete the file; it holds one JSON object such as {"issuer": "https://…", "client_id": "…"}.';

/** " at line L, column C" from V8's "at position N", or less when the message has none. */
function jsonErrorPlace(text: string, e: unknown): string {
  const message = (e as Error).message;
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return /end of JSON input/.test(message) ? ' (it ends too early)' : '';
  const before = text.slice(0, Number(position)).split('\n');
  return ` at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}
