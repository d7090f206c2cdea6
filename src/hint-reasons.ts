/**
 * The CLI's hints that depend on a code's facts (`facts.reason`, the setting, the OAuth error …),
 * one function per code; src/hints.ts picks among them.
 */

import type { ErrorFacts, FactsOf } from './core/error-facts.js';
import { HINTS, NOTHING_STORED, REFRESH_TOKEN_KEPT, FAILS_A_CHECK } from './hint-words.js';

type Facts = ErrorFacts;

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
export const DEVICE_ENDINGS: Record<string, string> = {
  access_denied: 'Run `xtalk login --device` again and approve the request (or sign in as someone who may).',
  expired_token: 'Run `xtalk login --device` again and enter the new code sooner.',
  invalid_grant: 'Run `xtalk login --device` again.',
  unauthorized_client: 'Ask the provider administrator to allow the device_code grant for this client, or use `xtalk login --manual`.',
};

const SET_SIGNING_ALG = (alg: string) => `XTALK_ID_TOKEN_SIGNING_ALG=${alg} (id_token_signing_alg in config.json)`;

export function idTokenHint(facts: Facts): string {
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

export function invalidClientHint(facts: Facts): string {
  if (facts.method === 'none') return 'A confidential client needs XTALK_CLIENT_SECRET; check XTALK_CLIENT_ID too.';
  if (facts.triedBoth)
    return 'Check XTALK_CLIENT_ID and XTALK_CLIENT_SECRET: the provider refused them in the Authorization header and in the body.';
  const other = facts.method === 'client_secret_post' ? 'client_secret_basic' : 'client_secret_post';
  return `Check XTALK_CLIENT_ID and XTALK_CLIENT_SECRET; if they are right, the provider may expect XTALK_TOKEN_AUTH_METHOD=${other}.`;
}

const SET_ISSUER =
  'Set XTALK_ISSUER (or --issuer, or OIDC_DISCOVERY_ENDPOINT in .env) to the issuer the provider names, or to its full discovery URL.';

/** Why discovery failed (`facts.reason`, set by src/oidc/discovery.ts) and what to set instead. */
export function discoveryHint(facts: Facts): string | undefined {
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

/** What to do about an unusable store (`facts.reason`, set by src/store/db/db.ts). */
export function storeHint(facts: Facts): string | undefined {
  const moveAway = (move: string, then: string) =>
    facts.path === undefined
      ? `${move} it away (xtalk.db in the xtalk data folder) ${then}.`
      : `${move} it away (for example \`mv ${String(facts.path)} ${String(facts.path)}.bak\`) ${then}.`;
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
    case 'internal':
      return HINTS.INTERNAL;
    case 'key_file_unreadable':
      return 'Check its permissions.';
    case 'key_file_uncreatable':
      return 'Check the permissions of its folder, or set XTALK_HOME.';
    default:
      return undefined;
  }
}

/** What to write instead of a bad setting (`facts.setting`, set by src/config/parsers.ts). */
export function configHint(facts: FactsOf<'CONFIG_INVALID'>): string | undefined {
  if (facts.empty) return `Use \`xtalk config unset ${String(facts.setting)}\` to remove it.`;
  switch (facts.reason) {
    case 'unknown_setting':
      return `Known settings: ${String(facts.choices)}.`;
    case 'signing_alg':
      return 'Use the alg the client is registered for, e.g. XTALK_ID_TOKEN_SIGNING_ALG=HS256 or RS256 (or unset it).';
    case 'token_auth_method':
      return `Use one of ${String(facts.choices)} (or unset it).`;
    case 'not_a_url':
      return 'Give the full URL, e.g. https://account.iottalk.tw';
    case 'not_https':
      return 'Use the https:// address of the provider.';
    case 'port':
      return 'Use a number from 1 to 65535, or 0 for any free port.';
    case 'credential_store':
      return 'Set XTALK_CREDENTIAL_STORE to "keychain" or "file" (or unset it).';
    case 'endpoint_origin':
      return `If the provider really serves it there, ask its administrator to publish it in the discovery document; otherwise remove the setting${facts.from ? ` (${facts.from})` : ''}.`;
    case 'proxy':
      return HINTS.PROXY;
    case 'unreadable_file':
      return `Check the permissions of ${String(facts.path)}, or remove it.`;
    case 'not_a_file':
      return `Replace ${String(facts.path)} with a regular file, or remove it.`;
    case 'file_too_large':
      return `A ${String(facts.what)} holds a few settings: check that ${String(facts.path)} is the right file.`;
    case 'broken_config_file':
      return 'Fix or delete the file; it holds one JSON object such as {"issuer": "https://…", "client_id": "…"}.';
    case 'browser_quote':
      return 'Fix XTALK_BROWSER or BROWSER, or unset it to use the system browser.';
    case 'browser_batch':
      return `Point ${String(facts.variable)} at the browser's .exe instead.`;
  }
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

/** What to do about a refused argument or option (`facts.reason`, set by the command or use case). */
export function usageHint(facts: FactsOf<'USAGE'>): string | undefined {
  switch (facts.reason) {
    case 'relative_url_without_base':
      return 'Set XTALK_API_URL (or `xtalk config set api_url https://…`), or give the full https:// URL.';
    case 'min_ttl':
      return `For example: xtalk ${String(facts.command)} --min-ttl 300${facts.command === 'exec' ? ' -- CMD' : ''}`;
    case 'ambiguous_account':
      return 'Name the account by its sub instead.';
    case 'no_device_flow':
      return HINTS.DEVICE_FLOW_UNAVAILABLE;
    case 'device_with_prompt':
      return 'Leave out --device (use --no-browser or --manual on a remote machine).';
    case 'no_secret':
      return 'Type it at the prompt, or pipe it in: `... | xtalk config set client_secret`.';
    case 'body_without_method':
      return 'Leave out --method, or use POST, PUT or PATCH.';
    case 'authorization_header':
      return 'Leave out -H Authorization; use curl for other credentials.';
    case 'secret_not_printed':
      return `It is stored in ${String(facts.path)} (mode 0600).`;
    case 'secret_in_argv':
      return 'Run `xtalk config set client_secret` and type it, or pipe it in on stdin.';
    case 'unknown_shell':
      return `Choose one of: ${String(facts.choices)}.`;
    case 'unknown_format':
      return `Use one of: ${String(facts.choices)}.`;
    case 'json_and_format':
      return 'Give only one of them.';
    case 'account_twice':
      return 'Name the account once.';
    case 'no_account_named':
      return HINTS.ACCOUNT_NOT_FOUND;
  }
  if (facts.missing === 'client') {
    return 'Set XTALK_ISSUER and XTALK_CLIENT_ID (and XTALK_CLIENT_SECRET for a confidential client), pass --issuer/--client-id, or use an X-Talk .env with OIDC_DISCOVERY_ENDPOINT and OAUTH2_CLIENT_ID.';
  }
  return configHint(facts as FactsOf<'CONFIG_INVALID'>);
}

/** What to do after an expected failure without a more specific code (`facts.reason`). */
export function plainHint(facts: FactsOf<'ERROR'>): string | undefined {
  switch (facts.reason) {
    case 'device_timeout':
      return 'Run `xtalk login --device` again, or allow more time with --timeout <seconds>.';
    case 'login_lock_wait':
      return `Finish or cancel that login first; if none is running, delete ${String(facts.path)}.`;
    case 'login_lock_create':
      return 'Check that the data folder is writable (XTALK_HOME).';
    case 'not_a_redirect':
      return "Copy the whole address from the browser's address bar after signing in.";
    case 'paste_ended':
      return `Paste the whole address the browser was sent to (${String(facts.redirectUri)}?code=…&state=…), or run \`xtalk login --manual\` again.`;
    case 'browser_command':
      return `Fix or unset ${String(facts.variable)}, or open the printed URL yourself.`;
    case 'wsl_opener':
      return 'Open the printed URL yourself, or set BROWSER to a browser command.';
    case 'system_browser':
      return 'Open the printed URL yourself, or set XTALK_BROWSER to a browser command.';
    case 'unsafe_browser_url':
      return HINTS.UNSAFE_BROWSER_URL;
    case 'setting_not_set':
      return `Set it with \`xtalk config set ${String(facts.setting)} VALUE\`.`;
    default:
      return undefined;
  }
}

/** Why logout kept the tokens (`facts.reason`, set by src/auth/logout/logout.ts); `causeHint` is the hint of the refusal under it. */
export function revocationHint(facts: FactsOf<'REVOCATION_FAILED'>, causeHint: string | undefined): string {
  const all = facts.all ? ' --all' : '';
  // The flag that asked for the browser step, repeated; `logout_browser=always` asks again by itself.
  const browser = facts.browser === 'open' ? ' --browser' : facts.browser === 'print' ? ' --print-sign-out-url' : '';
  const again = (extra = '') => `\`xtalk logout${all}${browser}${extra}\``;
  const deletesHereOnly = 'deletes the tokens here only: they stay valid at the provider until they expire.';
  switch (facts.reason) {
    case 'undecryptable':
      return `Run ${again(' --force')} to delete them (and revoke the readable ones), or \`xtalk login\` to replace them.`;
    case 'endpoint_refused':
      return `${causeHint ?? ''} Or run ${again(' --force')} to delete the tokens locally without revoking them.`.trim();
    case 'no_endpoint':
      if (facts.endSession) {
        return (
          `The provider can end its session instead: \`xtalk logout${all} --browser\` signs you out there ` +
          '(which ends the tokens at many providers, not always those issued for offline access), then deletes them here. ' +
          `Or set XTALK_REVOCATION_ENDPOINT if the provider has a revocation URL on the issuer's origin. \`xtalk logout${all} --force\` ${deletesHereOnly}`
        );
      }
      // --browser cannot help here: the provider has no end_session_endpoint either.
      return (
        "Set XTALK_REVOCATION_ENDPOINT (or OAUTH2_REVOCATION_ENDPOINT in .env) to the provider's revocation URL on the issuer's origin, if it has one. " +
        `Otherwise \`xtalk logout${all} --force\` ${deletesHereOnly}` +
        (facts.browser
          ? ' The provider publishes no end_session_endpoint either: sign out on its web page to end the browser session.'
          : '')
      );
    case 'session_not_ended':
      return `Nothing was deleted. Run ${again()} again and finish the sign-out in the browser, or ${again(' --force')} to delete the tokens here even without the provider's confirmation.`;
    default:
      return `Retry later, or run ${again(' --force')} to delete the tokens locally anyway.`;
  }
}

/** Where the store's data key was, that is gone now. */
export function dataKeyGone(facts: FactsOf<'SESSION_EXPIRED'>): string {
  if (facts.dataKeyGone === 'keychain')
    return `It was removed from the OS keychain (service "xtalk", account "${String(facts.keychainAccount)}")`;
  if (facts.dataKeyGone === 'file') return `The key file ${String(facts.path)} was removed`;
  return 'The store does not record where its key is';
}
