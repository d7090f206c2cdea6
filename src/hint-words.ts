/**
 * The CLI's words for the error codes (see src/hints.ts, which picks them): the table of fixed hints
 * and the sentences several of them share. No imports.
 */

export const NOTHING_STORED = 'Nothing was stored.';
/** After a refresh whose provider rotated the refresh token: that token is never dropped (docs/reliability.md). */
export const REFRESH_TOKEN_KEPT =
  'The refreshed tokens were not used, but the new refresh token was kept, so the next call can refresh again.';
export const FAILS_A_CHECK =
  'The provider (or something between you and it) sent an answer that fails a security check; tell its administrator if this persists.';
export const VALIDATION = `${NOTHING_STORED} ${FAILS_A_CHECK}`;

export const CHOOSE_PORT = 'Choose another port with --port or XTALK_PORT, or use 0 to let the system pick a free one.';

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
  ENDPOINT_MISSING:
    'The provider does not publish this endpoint; see `xtalk doctor`, and set it in the configuration if the provider has one.',
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
  TOO_MANY_OPEN_FILES:
    'Make fewer calls at once, or raise the limit on open files (`ulimit -n`, LimitNOFILE in a systemd unit) and try again.',
  RESPONSE_TOO_LARGE: 'Check that the issuer URL is the OpenID provider itself; its documents are a few KB.',
  ANSWER_LOST:
    'The refresh request reached the provider but its answer did not reach xtalk. Try again; a provider that rotates refresh tokens strictly may have ended the session, and then the next call says to run `xtalk login`.',
  NOT_OAUTH_ANSWER:
    'Something between xtalk and the provider (a login page, a proxy, a captive portal) answered instead of it. Check the network and the issuer URL; if the provider had already rotated the refresh token, run `xtalk login`.',
  REFRESH_WAIT_TIMEOUT: 'The provider is slow to answer the refresh another xtalk process sent; try again shortly.',
  PROVIDER_TIMEOUT:
    'Check the network and the issuer URL; XTALK_HTTP_TIMEOUT sets how many seconds xtalk waits for each request (default 30).',
  PROVIDER_PROBLEM: 'The provider has a problem; try again later.',
  LOOPBACK_PEER_REFUSED:
    'Only the user who runs `xtalk` may open the pages of its local listener; the link still works for you. If your browser runs as another user (or in a WSL/VM setup), use `xtalk login --manual` and paste the address it asks for.',
  BEARER_DESTINATION_REFUSED:
    'The token goes only to the API origin (api_url / XTALK_API_URL), the issuer, or an origin named as allowed (`xtalk api --allow-origin ORIGIN`, `createFetch({ baseUrl })` or `allowedOrigins`).',
  BEARER_NOT_HTTPS:
    'Use the https:// address. If this server has no https and the network to it is trusted, opt in for exactly this origin: insecure_http_origins in config.json or XTALK_INSECURE_HTTP_ORIGINS (createFetch: insecureHttpOrigins); a .env cannot set it.',
  BEARER_URL_CREDENTIALS: 'Leave the user name and password out of the URL: the access token is the credential.',
  COMMAND_NOT_FOUND: 'Check the command name and PATH; put the command after `--`.',
  CANNOT_EXECUTE: 'Check the command name and PATH; put the command after `--`.',
  PROXY: 'Set HTTPS_PROXY to the proxy URL, e.g. http://proxy.example:3128 (http://user:password@… when it needs a login).',
  UNSAFE_BROWSER_URL:
    'xtalk only opens https: URLs (and http: on this machine), because a crafted URL handed to the system opener can run programs (CVE-2025-6514). Check the issuer and its authorization endpoint.',
} as const;

/**
 * The sentence the loopback listener's 403 page shows, by the reason src/core/loopback-peer.ts
 * refused the connection with. Short: the terminal says the rest.
 */
export const LOOPBACK_PEER_PAGE = {
  'other-user': 'This page belongs to another user of this machine: only the user who runs xtalk may open it.',
  'owner-unknown': 'xtalk could not tell which user of this machine opened this page, so it does not answer it.',
} as const;
