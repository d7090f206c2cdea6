/**
 * The facts each error code carries: what its hint needs to know, typed per code,
 * so the thrower gives exactly those and the words of the CLI's and the Node API's hints can rely on
 * them. Types only; nothing here is a word a user reads.
 */

/** What an OAuth error answer said (RFC 6749 §5.2): the `error` and `error_description` fields. */
export interface ProviderAnswer {
  error?: string | undefined;
  errorDescription?: string | undefined;
}

/** Why a bad setting, argument or option was refused, for the hint. */
export interface ConfigFacts {
  /** The setting's name in config.json (`timeout`, `scope`, …). */
  setting?: string;
  /** The value was empty. */
  empty?: boolean;
  reason?:
    | 'unknown_setting'
    | 'signing_alg'
    | 'token_auth_method'
    | 'not_a_url'
    | 'not_https'
    | 'port'
    | 'credential_store'
    | 'endpoint_origin'
    | 'proxy'
    | 'unreadable_file'
    | 'not_a_file'
    | 'file_too_large'
    | 'broken_config_file'
    | 'browser_quote'
    | 'browser_batch';
  /** The values that would do, listed for the hint. */
  choices?: string;
  /** A file, a setting source or an environment variable the hint names. */
  path?: string;
  what?: string;
  from?: string;
  variable?: string;
}

/** Why an argument or option was refused (code USAGE), besides the settings of {@link ConfigFacts}. */
export interface UsageFacts extends Omit<ConfigFacts, 'reason'> {
  reason?:
    | ConfigFacts['reason']
    | 'relative_url_without_base'
    | 'min_ttl'
    | 'ambiguous_account'
    | 'no_device_flow'
    | 'device_with_prompt'
    | 'no_secret'
    | 'body_without_method'
    | 'authorization_header'
    | 'secret_not_printed'
    | 'secret_in_argv'
    | 'unknown_shell'
    | 'unknown_format'
    | 'json_and_format'
    | 'account_twice'
    | 'no_account_named'
    | 'command_line';
  /** `missing: 'client'`: no issuer or client id configured. */
  missing?: 'client';
  /** The command whose option was refused (`token`, `exec`, `config get`; unset: xtalk itself). */
  command?: string;
  /** `command_line`: the closest command or flag to what was typed, when one is close. */
  suggestion?: string;
}

/** Why an expected failure without a more specific code happened (code ERROR). */
export interface PlainFacts {
  reason?:
    | 'device_timeout'
    | 'login_lock_wait'
    | 'login_lock_create'
    | 'not_a_redirect'
    | 'paste_ended'
    | 'browser_command'
    | 'wsl_opener'
    | 'system_browser'
    | 'unsafe_browser_url'
    | 'setting_not_set';
  path?: string;
  variable?: string;
  redirectUri?: string;
  setting?: string;
}

/**
 * What the hint for each code needs to know (an alg, a method, a port …); never a secret. A code
 * that is not listed takes no facts.
 */
export interface FactsByCode {
  ERROR: PlainFacts;
  USAGE: UsageFacts;
  CONFIG_INVALID: ConfigFacts;
  LOGIN_REQUIRED: { reason?: 'none_selected' | 'no_match' | 'logged_out' };
  SESSION_EXPIRED: {
    /** The store's data key is gone: where it was kept. */
    dataKeyGone?: 'keychain' | 'file' | 'unrecorded';
    keychainAccount?: string;
    path?: string;
    reason?: 'no_refresh_token' | 'api_refused_after_refresh';
  };
  PROVIDER_ERROR: ProviderAnswer & { answer?: 'status' | 'oauth'; status?: number; reason?: 'device_code_expired' | 'no_subject' };
  DISCOVERY_FAILED: ProviderAnswer & {
    /** The code a provider error had before it was found to be a failed discovery (its hint still applies). */
    was?: string;
    reason?:
      | 'bad_redirect'
      | 'other_origin'
      | 'too_many_redirects'
      | 'provider_problem'
      | 'not_found'
      | 'not_json'
      | 'not_an_object'
      | 'not_a_provider'
      | 'issuer_spelling'
      | 'other_issuer';
    origin?: string;
    next?: string;
    url?: string;
    named?: string;
    status?: number;
  };
  NETWORK_ERROR: { timedOut?: boolean; grantSent?: boolean; reason?: 'api_unreachable' | 'answer_broke_off' };
  KEYCHAIN_UNAVAILABLE: { timedOut?: boolean | undefined; reason?: 'key_in_keychain' };
  STORE_ERROR: {
    reason:
      | 'locked'
      | 'corrupt'
      | 'foreign'
      | 'newer'
      | 'full'
      | 'read_only'
      | 'permissions'
      | 'cannot_open'
      | 'sqlite'
      | 'internal'
      | 'key_file_unreadable'
      | 'key_file_uncreatable';
    path?: string;
    grantNotSent?: boolean;
  };
  REVOCATION_FAILED: {
    /** `session_not_ended`: no revocation endpoint, and the provider did not confirm ending its session. */
    reason?: 'undecryptable' | 'endpoint_refused' | 'no_endpoint' | 'session_not_ended';
    /** The provider publishes an end_session_endpoint (set with `no_endpoint`). */
    endSession?: boolean;
    /** How the browser step was asked for: `--browser`, `--print-sign-out-url`, or `logout_browser=always`. */
    browser?: 'open' | 'print' | 'config';
    /** `logout --all`. */
    all?: boolean;
  };
  ID_TOKEN_INVALID: ProviderAnswer & {
    check?: 'auth_time' | 'listed_alg' | 'hmac_alg' | 'hmac_signature';
    alg?: string;
    configuredAlg?: string;
    refreshTokenKept?: boolean;
  };
  /** `triedBoth`: detection sent the secret in HTTP Basic, then in the body, and both were refused. */
  INVALID_CLIENT: ProviderAnswer & { method: string; triedBoth?: boolean };
  AUTHORIZATION_CODE_REJECTED: ProviderAnswer;
  DEVICE_SIGN_IN_ENDED: ProviderAnswer;
  ENDPOINT_REFUSED: ProviderAnswer;
  ENDPOINT_MISSING: ProviderAnswer;
  RESPONSE_TOO_LARGE: ProviderAnswer;
  NOT_OAUTH_ANSWER: ProviderAnswer & { grantSent?: boolean };
  PORT_IN_USE: { port: number };
  PORT_UNAVAILABLE: { port: number };
  TIMEOUT: { waitingFor?: 'sign_out' };
  DATA_KEY_INVALID: { keyFile?: 'not_a_file' | 'too_large' };
  /** The asked margin and how long the refreshed token lasts, in seconds. */
  MIN_TTL_UNSATISFIABLE: { minTtlSeconds: number; lifetimeSeconds: number };
  LOOPBACK_PEER_REFUSED: { reason: 'other-user' | 'owner-unknown'; peerUid?: number | undefined };
  BEARER_DESTINATION_REFUSED: {
    origin: string;
    reason: 'not-a-url' | 'not-http' | 'credentials-in-url' | 'origin-not-allowed' | 'not-https';
  };
}

/** The facts a code takes (`never` for a code that takes none). */
export type FactsOf<C extends string> = C extends keyof FactsByCode ? FactsByCode[C] : never;

/** The facts of an error as anyone reads them (typed per code where the error is made). */
export type ErrorFacts = Readonly<Record<string, string | number | boolean | undefined>>;
