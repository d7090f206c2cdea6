import { ConfigError } from '../errors.js';
import { CONFIG_KEYS, SETTINGS, type ConfigKey } from '../core/settings-sources.js';
import {
  checkEndpointUrl,
  DEFAULT_HTTP_TIMEOUT_SECONDS,
  DEFAULT_KEY_CACHE_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  parseApiUrl,
  parseCredentialStore,
  parseHttpTimeout,
  parseInsecureHttpOrigins,
  parseIssuer,
  parseKeyCacheSeconds,
  parseLogoutBrowser,
  parsePort,
  parseSigningAlg,
  parseTimeout,
  parseTokenAuthMethod,
  type LogoutBrowser,
} from './parsers.js';
import { DEFAULT_SCOPE, type CredentialStoreMode } from '../core/oauth-terms.js';
import { CONFIG_FILE_KEYS } from './setting-names.js';

/**
 * One descriptor per setting: how it is parsed, its default, the flag that may give it, whether it is
 * a secret, and what it is for. Its names in the environment, config.json and `.env` (and so whether a
 * `.env` may set it) come from the core's table (src/core/settings-sources.ts), which owns that rule.
 * resolveConfig, `xtalk config`, `xtalk help environment` and the completion scripts read this table;
 * a ConfigKey without an entry, or an entry without a field, does not compile.
 */
export interface SettingSpec<T, D> {
  /** What it is for, one line (shown by `xtalk help environment`). */
  readonly description: string;
  /** The option resolveConfig reads it from (`--client-id`), or null: no flag gives it. */
  readonly flag: string | null;
  /** Never printed, never taken from argv: `xtalk config set` reads it from stdin or a hidden prompt. */
  readonly secret: boolean;
  /** The value when no source gives one. */
  readonly default: D;
  /** The default in words, or null: unset until a source gives it (the description says what unset means). */
  readonly defaultText: string | null;
  /** The default as `xtalk config get` prints it, where `default` is not that value itself (scope). */
  readonly shownDefault?: string;
  /** A raw string from any source to the checked value, or a ConfigError saying what to write. */
  readonly parse: (raw: string, others: ParseContext) => T;
  /** What `xtalk config set` stores in config.json for a checked value. */
  readonly stored: (value: T, raw: string) => string | number;
}

/** What a parser may depend on: the only setting another one reads is the plain-http opt-in (for api_url). */
export interface ParseContext {
  readonly insecureHttpOrigins: readonly string[];
}

/** Free text (ids, the secret, scopes): taken as given; config.json gets it trimmed, and not empty. */
function text(
  key: ConfigKey,
  description: string,
  more: { flag?: string; secret?: boolean; defaultText?: string; shownDefault?: string } = {},
): SettingSpec<string, undefined> {
  return {
    description,
    flag: more.flag ?? null,
    secret: more.secret ?? false,
    default: undefined,
    defaultText: more.defaultText ?? null,
    ...(more.shownDefault === undefined ? {} : { shownDefault: more.shownDefault }),
    parse: (raw) => raw,
    stored: (_value, raw) => {
      const name = SETTINGS[key].file;
      if (!raw.trim()) throw new ConfigError('CONFIG_INVALID', `The ${name} must not be empty.`, { facts: { setting: name, empty: true } });
      return raw.trim();
    },
  };
}

const asIs = <T extends string | number>(value: T): T => value;

export const SETTING_SPECS = {
  issuer: {
    description: 'OpenID provider (issuer) URL, exactly as its discovery document names it; a full discovery URL works too',
    flag: '--issuer',
    secret: false,
    default: undefined,
    defaultText: null,
    parse: (raw) => parseIssuer(raw),
    // Kept as written: a trailing slash is part of an issuer.
    stored: (_value, raw) => raw.trim(),
  },
  clientId: text('clientId', 'OAuth client id', { flag: '--client-id' }),
  clientSecret: text('clientSecret', 'OAuth client secret; unset: a public client', { secret: true }),
  scope: text('scope', 'space-separated scopes to ask for', {
    flag: '--scope',
    defaultText: `${DEFAULT_SCOPE}, narrowed to the provider's scopes_supported`,
    shownDefault: DEFAULT_SCOPE,
  }),
  port: {
    description: 'loopback port for the sign-in redirect',
    flag: '--port',
    secret: false,
    default: 0,
    defaultText: '0 (any free port)',
    parse: parsePort,
    stored: asIs,
  },
  timeout: {
    description: 'seconds to wait for the sign-in',
    flag: '--timeout',
    secret: false,
    default: DEFAULT_TIMEOUT_SECONDS,
    defaultText: `${DEFAULT_TIMEOUT_SECONDS} s`,
    parse: parseTimeout,
    stored: asIs,
  },
  httpTimeout: {
    description: 'seconds each request to the provider may take',
    flag: null,
    secret: false,
    default: DEFAULT_HTTP_TIMEOUT_SECONDS,
    defaultText: `${DEFAULT_HTTP_TIMEOUT_SECONDS} s`,
    parse: parseHttpTimeout,
    stored: asIs,
  },
  revocationEndpoint: {
    description: "token revocation endpoint, used only where discovery names none (on the issuer's origin; fixed at login)",
    flag: null,
    secret: false,
    default: undefined,
    defaultText: null,
    parse: (raw) => checkEndpointUrl(raw, 'revocation endpoint'),
    stored: asIs,
  },
  credentialStore: {
    description: 'where the data key lives: keychain, file (a 0600 key file) or auto',
    flag: null,
    secret: false,
    default: 'auto' as CredentialStoreMode,
    defaultText: 'auto (the keychain, else a 0600 key file with a warning)',
    parse: parseCredentialStore,
    stored: asIs,
  },
  apiUrl: {
    description: 'base URL that relative API paths are resolved against; unset: absolute URLs only',
    flag: null,
    secret: false,
    default: undefined,
    defaultText: null,
    // The one setting that reads another: a plain http: API on another host needs its origin opted in.
    parse: (raw, others) => parseApiUrl(raw, others.insecureHttpOrigins),
    stored: asIs,
  },
  logoutBrowser: {
    description: "always: every logout also ends the provider's browser session",
    flag: null,
    secret: false,
    default: 'never' as LogoutBrowser,
    defaultText: 'never',
    parse: parseLogoutBrowser,
    stored: asIs,
  },
  idTokenSigningAlg: {
    description: "the ID-token alg this client is registered for (e.g. HS256); unset: the provider's published keys",
    flag: null,
    secret: false,
    default: undefined,
    defaultText: null,
    parse: parseSigningAlg,
    stored: asIs,
  },
  tokenAuthMethod: {
    description:
      'client_secret_basic, client_secret_post or none; unset: none without a secret; with one, Basic, or the body where the provider refuses Basic (detected, remembered)',
    flag: null,
    secret: false,
    default: undefined,
    defaultText: null,
    parse: parseTokenAuthMethod,
    stored: asIs,
  },
  keyCacheSeconds: {
    description:
      'seconds the keychain data key, and the access token the native launcher serves, may stay in the kernel keyring (Linux); 0 turns both copies off',
    flag: null,
    secret: false,
    default: DEFAULT_KEY_CACHE_SECONDS,
    defaultText: `${DEFAULT_KEY_CACHE_SECONDS} s`,
    parse: parseKeyCacheSeconds,
    stored: asIs,
  },
  insecureHttpOrigins: {
    description: 'plain http: origins on other hosts that may get the bearer token, comma-separated; unset: none',
    flag: null,
    secret: false,
    default: [] as string[],
    defaultText: null,
    parse: parseInsecureHttpOrigins,
    stored: (value) => value.join(','),
  },
  // biome-ignore lint/suspicious/noExplicitAny: checks each entry's shape; its own value types are kept for SettingValue
} satisfies { readonly [K in ConfigKey]: SettingSpec<any, any> };

/** The value a setting resolves to: what its parser returns, or its default. */
export type SettingValue<K extends ConfigKey> = (typeof SETTING_SPECS)[K] extends SettingSpec<infer T, infer D> ? T | D : never;

/** A setting's descriptor, its names included, for code that lists them all. */
export interface SettingDescriptor {
  readonly key: ConfigKey;
  readonly env: string;
  readonly file: string;
  readonly dotenv: string | null;
  readonly flag: string | null;
  readonly secret: boolean;
  readonly description: string;
  readonly defaultText: string | null;
  /** The default as one value (`xtalk config get` prints it), or null where there is none. */
  readonly defaultValue: string | number | null;
}

/** Every setting in the core's order, with its names. */
export const SETTING_DESCRIPTORS: readonly SettingDescriptor[] = CONFIG_KEYS.map((key) => {
  const spec: SettingSpec<unknown, unknown> = SETTING_SPECS[key] as SettingSpec<unknown, unknown>;
  const value = spec.default;
  const defaultValue = typeof value === 'string' || typeof value === 'number' ? value : (spec.shownDefault ?? null);
  return {
    key,
    ...SETTINGS[key],
    flag: spec.flag,
    secret: spec.secret,
    description: spec.description,
    defaultText: spec.defaultText,
    defaultValue,
  };
});

/** The config.json keys that hold a secret. */
export const SECRET_FILE_KEYS: readonly string[] = SETTING_DESCRIPTORS.filter((d) => d.secret).map((d) => d.file);

/**
 * Checks a value for a `config.json` key exactly as resolveConfig will read it, and returns what
 * to store (numbers for port and timeout).
 */
export function checkConfigFileValue(name: string, raw: string, file: Readonly<Record<string, unknown>> = {}): string | number {
  const key = CONFIG_KEYS.find((k) => SETTINGS[k].file === name);
  if (!key)
    throw new ConfigError('CONFIG_INVALID', `Unknown setting "${name}".`, {
      facts: { reason: 'unknown_setting', choices: CONFIG_FILE_KEYS.join(', ') },
    });
  const spec = SETTING_SPECS[key] as SettingSpec<unknown, unknown>;
  // An http: API on another host is fine once the file opts into its origin.
  const listed = file[SETTINGS.insecureHttpOrigins.file];
  const others = { insecureHttpOrigins: listed === undefined || listed === null ? [] : safeOrigins(String(listed)) };
  return spec.stored(spec.parse(raw, others), raw);
}

function safeOrigins(raw: string): string[] {
  try {
    return parseInsecureHttpOrigins(raw);
  } catch {
    return [];
  }
}
