/**
 * Every hint an error code gets, in one place: the words a user reads under an error, naming the
 * commands, flags and settings to use. Adapters (oidc/, store/, loopback/, browser/) throw a code
 * and facts, never these words; the CLI prints `error.hint`, and the Node API hands the same
 * `error.hint` to programs, so both edges say the same thing. A use case may still give its own
 * hint where it knows more (that one wins).
 *
 * No imports: src/errors.ts reads this table, and everything may import errors.ts.
 */

type Facts = Readonly<Record<string, string | number | boolean | undefined>>;

const NOTHING_STORED = 'Nothing was stored.';
/** After a refresh whose provider rotated the refresh token: that token is never dropped (README, Reliability). */
const REFRESH_TOKEN_KEPT = 'The refreshed tokens were not used, but the new refresh token was kept, so the next call can refresh again.';
const FAILS_A_CHECK = 'The provider (or something between you and it) sent an answer that fails a security check; tell its administrator if this persists.';
const VALIDATION = `${NOTHING_STORED} ${FAILS_A_CHECK}`;

const CHOOSE_PORT = 'Choose another port with --port or XTALK_PORT, or use 0 to let the system pick a free one.';

export const HINTS = {
  LOGIN_REQUIRED: 'Run `xtalk login` to sign in.',
  SESSION_EXPIRED: 'Run `xtalk login` to sign in again.',
  NETWORK_ERROR: 'Check the network connection and the issuer URL.',
  KEYCHAIN_UNAVAILABLE: 'Unlock or start the keychain, or set XTALK_CREDENTIAL_STORE=file to keep the key in a 0600 file.',
  REVOCATION_FAILED: 'Retry later, or run `xtalk logout --force` to delete the tokens locally anyway.',
  ID_TOKEN_INVALID: VALIDATION,
  CLIENT_SECRET_REQUIRED: 'Set XTALK_CLIENT_SECRET (or client_secret via `xtalk config set client_secret`).',
  AUTHORIZATION_CODE_REJECTED: 'A code expires within a minute and works once: run `xtalk login` again and finish promptly.',
  DEVICE_FLOW_UNAVAILABLE: 'Use `xtalk login --no-browser` (with ssh -L) or `xtalk login --manual` instead.',
  ENDPOINT_REFUSED:
    'Check that the issuer URL points at the right provider; a provider that publishes such an endpoint is misconfigured or hostile, so tell its administrator.',
  ENDPOINT_MISSING: 'The provider does not publish this endpoint; see `xtalk doctor`, and set it in the configuration if the provider has one.',
  PORT_IN_USE: CHOOSE_PORT,
  PORT_UNAVAILABLE: CHOOSE_PORT,
  PORT_INVALID: 'Use a port between 1 and 65535 with --port or XTALK_PORT, or 0 for any free port.',
  TIMEOUT_INVALID: 'Use a positive number of seconds with --timeout.',
  TIMEOUT: 'Run `xtalk login` again, or allow more time with --timeout <seconds>.',
  SIGN_IN_LINK_REUSED:
    'Run `xtalk login` again. If it happens again, another user of this machine may be watching your processes: run `xtalk login --no-browser` and paste the printed URL into your browser yourself.',
  TOKEN_UNDECRYPTABLE:
    'The token or its data key was changed or replaced. Run `xtalk login` to sign in again, or `xtalk logout --force` to delete the unreadable tokens.',
  DATA_KEY_INVALID: 'Remove it and run `xtalk login` to sign in again.',
  ACCOUNT_GONE: 'Run `xtalk login`.',
  ACCOUNT_NOT_FOUND: 'Run `xtalk status` to list the stored accounts.',
  INTERNAL: 'Please report this bug.',
  TOO_MANY_OPEN_FILES: 'Make fewer calls at once, or raise the limit on open files (`ulimit -n`, LimitNOFILE in a systemd unit) and try again.',
  RESPONSE_TOO_LARGE: 'Check that the issuer URL is the OpenID provider itself; its documents are a few KB.',
  ANSWER_LOST:
    'The refresh request reached the provider but its answer did not reach xtalk. Try again; a provider that rotates refresh tokens strictly may have ended the session, and then the next call says to run `xtalk login`.',
  NOT_OAUTH_ANSWER:
    'Something between xtalk and the provider (a login page, a proxy, a captive portal) answered instead of it. Check the network and the issuer URL; if the provider had already rotated the refresh token, run `xtalk login`.',
  REFRESH_WAIT_TIMEOUT: 'The provider is slow to answer the refresh another xtalk process sent; try again shortly.',
  PROVIDER_TIMEOUT: 'Check the network and the issuer URL; XTALK_HTTP_TIMEOUT sets how many seconds xtalk waits for each request (default 30).',
  PROVIDER_PROBLEM: 'The provider has a problem; try again later.',
  LOOPBACK_PEER_REFUSED:
    'Only the user who runs `xtalk` may open the pages of its local listener; the link still works for you. If your browser runs as another user (or in a WSL/VM setup), use `xtalk login --manual` and paste the address it asks for.',
  BEARER_DESTINATION_REFUSED:
    'The token goes only to the API origin (api_url / XTALK_API_URL), the issuer, or an origin named as allowed (`xtalk api --allow-origin ORIGIN`, `createFetch({ baseUrl })` or `allowedOrigins`).',
  BEARER_NOT_HTTPS:
    'Use the https:// address. If this server has no https and the network to it is trusted, opt in for exactly this origin: insecure_http_origins in config.json or XTALK_INSECURE_HTTP_ORIGINS (createFetch: insecureHttpOrigins); a .env cannot set it.',
  BEARER_URL_CREDENTIALS: 'Leave the user name and password out of the URL: the access token is the credential.',
} as const;

/**
 * The sentence the loopback listener's 403 page shows, by the reason src/core/loopback-peer.ts
 * refused the connection with. Short: the terminal says the rest.
 */
export const LOOPBACK_PEER_PAGE = {
  'other-user': 'This page belongs to another user of this machine: only the user who runs xtalk may open it.',
  'owner-unknown': 'xtalk could not tell which user of this machine opened this page, so it does not answer it.',
} as const;

/** What to do about an OAuth `error` the provider answered with (RFC 6749 §5.2, OIDC Core 3.1.2.6). */
export function oauthErrorHint(error: string | undefined): string {
  switch (error) {
    case 'invalid_client':
    case 'unauthorized_client':
      return 'Check the client id and XTALK_CLIENT_SECRET (a public client must have no secret).';
    case 'invalid_scope':
      return 'Ask only for scopes the provider knows, with --scope or XTALK_SCOPE (e.g. "openid profile email").';
    case 'access_denied':
      return 'Run `xtalk login` again and allow access.';
    case 'invalid_request':
    case 'unsupported_grant_type':
    case 'unsupported_response_type':
      return 'The provider does not accept this request from this client; check the client registration (redirect URI, grant types), or run with --debug for details.';
    case 'server_error':
    case 'temporarily_unavailable':
      return HINTS.PROVIDER_PROBLEM;
    default:
      return 'Run the command again with --debug for details.';
  }
}

/** How a device sign-in that the provider ended should be retried, by the token endpoint's `error`. */
const DEVICE_ENDINGS: Record<string, string> = {
  access_denied: 'Run `xtalk login --device` again and approve the request (or sign in as someone who may).',
  expired_token: 'Run `xtalk login --device` again and enter the new code sooner.',
  invalid_grant: 'Run `xtalk login --device` again.',
  unauthorized_client: 'Ask the provider administrator to allow the device_code grant for this client, or use `xtalk login --manual`.',
};

const SET_SIGNING_ALG = (alg: string) => `XTALK_ID_TOKEN_SIGNING_ALG=${alg} (id_token_signing_alg in config.json)`;

function idTokenHint(facts: Facts): string {
  const alg = String(facts.alg ?? '');
  const stored = facts.refreshTokenKept ? REFRESH_TOKEN_KEPT : NOTHING_STORED;
  switch (facts.check) {
    case 'auth_time':
      return 'The provider did not make you sign in again although xtalk asked it to (prompt=login, max_age=0); run `xtalk login --fresh` again, or ask the provider administrator.';
    case 'listed_alg':
      return facts.configuredAlg
        ? `${stored} The provider signs ID tokens for this client with ${alg}, not ${String(facts.configuredAlg)}: set ${SET_SIGNING_ALG(alg)}, or unset it for the provider's published keys.`
        : `${stored} The provider lists ${alg} for ID tokens: if this client is registered for ${alg} ID tokens, set ${SET_SIGNING_ALG(alg)}.`;
    case 'hmac_alg':
      return 'Set XTALK_ID_TOKEN_SIGNING_ALG to HS256, HS384, HS512 or an alg the provider publishes keys for.';
    case 'hmac_signature':
      return `${stored} Check XTALK_CLIENT_SECRET; if the provider signs with its own keys instead, unset XTALK_ID_TOKEN_SIGNING_ALG.`;
    default:
      return `${stored} ${FAILS_A_CHECK}`;
  }
}

function invalidClientHint(facts: Facts): string {
  if (facts.method === 'none') return 'A confidential client needs XTALK_CLIENT_SECRET; check XTALK_CLIENT_ID too.';
  const other = facts.method === 'client_secret_post' ? 'client_secret_basic' : 'client_secret_post';
  return `Check XTALK_CLIENT_ID and XTALK_CLIENT_SECRET; if they are right, the provider may expect XTALK_TOKEN_AUTH_METHOD=${other}.`;
}

const SET_ISSUER = 'Set XTALK_ISSUER (or --issuer, or OIDC_DISCOVERY_ENDPOINT in .env) to the issuer the provider names, or to its full discovery URL.';

/** Why discovery failed (`facts.reason`, set by src/oidc/discovery.ts) and what to set instead. */
function discoveryHint(facts: Facts): string | undefined {
  switch (facts.reason) {
    case 'bad_redirect':
      return SET_ISSUER;
    case 'other_origin':
      return `If ${String(facts.origin)} is really your provider, set XTALK_ISSUER to the issuer it names (or its full discovery URL).`;
    case 'too_many_redirects':
      return `Set XTALK_ISSUER to the full discovery URL that answers with the document (e.g. ${String(facts.next)}).`;
    case 'provider_problem':
      return HINTS.PROVIDER_PROBLEM;
    case 'not_found':
      return 'Check the issuer URL; if the provider serves its document elsewhere, set XTALK_ISSUER (or OIDC_DISCOVERY_ENDPOINT) to that full URL.';
    case 'not_json':
      return `Check the issuer URL: ${String(facts.url)} must return the provider's discovery document (JSON).`;
    case 'not_an_object':
      return 'Check that the issuer URL points at an OpenID provider, not a web page or a captive portal.';
    case 'not_a_provider':
      return "The document is not an OpenID provider's; check the issuer URL.";
    case 'issuer_spelling':
      return `Issuers compare exactly (a trailing slash counts): set XTALK_ISSUER to exactly ${String(facts.named)}.`;
    case 'other_issuer':
      return 'The document describes another provider; check the issuer URL (xtalk never uses a document that names a different issuer).';
    default:
      return undefined;
  }
}

/** What to do about an unusable store (`facts.reason`, set by src/store/db.ts). */
function storeHint(facts: Facts): string | undefined {
  const moveAway = (move: string, then: string) =>
    facts.path === undefined ? `${move} it away (xtalk.db in the xtalk data folder) ${then}.` : `${move} it away (for example \`mv ${String(facts.path)} ${String(facts.path)}.bak\`) ${then}.`;
  switch (facts.reason) {
    case 'locked':
      return 'Try again; if it stays locked, look for a stuck xtalk process.';
    case 'corrupt':
      return moveAway('Move', 'and run `xtalk login` to start over');
    case 'foreign':
      return moveAway('Move', 'to start with an empty store');
    case 'newer':
      return `Upgrade xtalk, or ${moveAway('move', 'to start with an empty store')}`;
    case 'full':
      return facts.grantNotSent
        ? 'Free some disk space (or raise your disk quota) and try again; the session is unchanged.'
        : 'Free some disk space (or raise your disk quota) and try again; a valid token can still be read meanwhile.';
    case 'read_only':
      return 'Remount the file system read-write or make the folder writable, or set XTALK_HOME to a writable folder; a valid token can still be read meanwhile.';
    case 'permissions':
      return 'Check the permissions of the file and its folder.';
    case 'cannot_open':
      return 'Check the permissions of the file and its folder, or set XTALK_HOME.';
    case 'sqlite':
      return 'Please report this if it persists.';
    default:
      return undefined;
  }
}

/** What to write instead of a bad setting (`facts.setting`, set by src/config/parsers.ts). */
function configHint(facts: Facts): string | undefined {
  if (facts.empty) return `Use \`xtalk config unset ${String(facts.setting)}\` to remove it.`;
  switch (facts.setting) {
    case 'timeout':
      return 'Give the number of seconds to wait, e.g. --timeout 120.';
    case 'http_timeout':
      return 'Give the seconds each request to the provider may take, e.g. XTALK_HTTP_TIMEOUT=30.';
    case 'logout_browser':
      return 'Use "always" (every `xtalk logout` also signs out of the provider in the browser) or "never".';
    case 'insecure_http_origins':
      return 'List plain http: origins only, separated by commas, e.g. XTALK_INSECURE_HTTP_ORIGINS=http://lab.example:8080 (https: needs no opt-in).';
    case 'key_cache_seconds':
      return 'Give whole seconds from 0 (no key cache) to 86400, e.g. XTALK_KEY_CACHE_SECONDS=600.';
    default:
      return undefined;
  }
}

/**
 * The hint for a code, its facts and (for provider answers) the OAuth `error`; undefined where the
 * message says all there is.
 */
export function hintFor(code: string, facts: Facts, error: string | undefined): string | undefined {
  switch (code) {
    case 'ID_TOKEN_INVALID':
      return idTokenHint(facts);
    case 'DISCOVERY_FAILED':
      return discoveryHint(facts);
    case 'INVALID_CLIENT':
      return invalidClientHint(facts);
    case 'DEVICE_SIGN_IN_ENDED':
      return DEVICE_ENDINGS[error ?? ''] ?? oauthErrorHint(error);
    case 'PROVIDER_ERROR':
      // Only for answers the provider gave (facts.answer); other provider errors say all in the message.
      if (facts.answer === 'status') return Number(facts.status) >= 500 ? HINTS.PROVIDER_PROBLEM : oauthErrorHint(undefined);
      return facts.answer === 'oauth' ? oauthErrorHint(error) : undefined;
    case 'CONFIG_INVALID':
      return configHint(facts);
    case 'USAGE':
      if (facts.missing === 'client') {
        return 'Set XTALK_ISSUER and XTALK_CLIENT_ID (and XTALK_CLIENT_SECRET for a confidential client), pass --issuer/--client-id, or use an X-Talk .env with OIDC_DISCOVERY_ENDPOINT and OAUTH2_CLIENT_ID.';
      }
      return configHint(facts);
    case 'STORE_ERROR':
      return storeHint(facts);
    case 'SESSION_EXPIRED':
      // The store's data key is gone (src/store/data-key.ts says where it was).
      if (facts.dataKeyGone) return `${String(facts.dataKeyGone)}, so the stored tokens cannot be decrypted. Run \`xtalk login\` to sign in again.`;
      return HINTS.SESSION_EXPIRED;
    case 'NETWORK_ERROR':
      if (facts.grantSent) return HINTS.ANSWER_LOST;
      return facts.timedOut ? HINTS.PROVIDER_TIMEOUT : HINTS.NETWORK_ERROR;
    case 'DATA_KEY_INVALID':
      // The key file is something else (src/store/data-key.ts says what).
      if (facts.keyFile === 'not_a_file') return 'The data key is kept in a regular file (a link to one is fine): put the key file back, or remove this one and run `xtalk login` to sign in again.';
      if (facts.keyFile === 'too_large') return 'A key file holds one line of 44 characters: put the key file back, or remove this one and run `xtalk login` to sign in again.';
      return HINTS.DATA_KEY_INVALID;
    case 'BEARER_DESTINATION_REFUSED':
      if (facts.reason === 'not-https') return HINTS.BEARER_NOT_HTTPS;
      if (facts.reason === 'credentials-in-url') return HINTS.BEARER_URL_CREDENTIALS;
      if (facts.reason === 'not-http' || facts.reason === 'not-a-url') return 'Give an https:// URL, or a path under the API base URL.';
      return HINTS.BEARER_DESTINATION_REFUSED;
    default:
      return Object.hasOwn(HINTS, code) ? HINTS[code as keyof typeof HINTS] : undefined;
  }
}
