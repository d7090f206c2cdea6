/**
 * Every hint an error code gets on the command line, picked in one place: the words a user reads
 * under an error, naming the commands, flags and settings to use. The fixed words are in
 * src/hint-words.ts, the ones that depend on a code's facts in src/hint-reasons.ts. Adapters and use
 * cases throw a code and facts, never these words; the CLI prints `error.hint`, worded here. The Node
 * API hands programs its own words (src/api/hints.ts), which name no flag of the CLI.
 *
 * src/errors.ts reads this file, and everything may import errors.ts: so these three files import
 * nothing of ours but the core's types.
 */

import type { ErrorFacts, FactsOf } from './core/error-facts.js';
import { HINTS } from './hint-words.js';
import {
  configHint,
  dataKeyGone,
  DEVICE_ENDINGS,
  discoveryHint,
  idTokenHint,
  invalidClientHint,
  oauthErrorHint,
  plainHint,
  revocationHint,
  storeHint,
  usageHint,
} from './hint-reasons.js';

type Facts = ErrorFacts;

/** What a hint is worded from: an error's code, its facts and the error under it. */
export interface HintSource {
  readonly code: string;
  readonly facts: Facts;
  readonly cause?: unknown;
}

export function isHintSource(e: unknown): e is HintSource {
  return typeof e === 'object' && e !== null && typeof (e as HintSource).code === 'string' && typeof (e as HintSource).facts === 'object';
}

/**
 * The CLI's hint for an error: by its code and facts (the OAuth `error` of a provider answer is a
 * fact); undefined where the message says all there is.
 */
export function hintFor(e: HintSource): string | undefined {
  const { code, facts } = e;
  const error = typeof facts.error === 'string' ? facts.error : undefined;
  switch (code) {
    case 'ERROR':
      return plainHint(facts as FactsOf<'ERROR'>);
    case 'REVOCATION_FAILED':
      return revocationHint(facts as FactsOf<'REVOCATION_FAILED'>, isHintSource(e.cause) ? hintFor(e.cause) : undefined);
    case 'LOGIN_REQUIRED':
      if (facts.reason === 'none_selected') return 'Run `xtalk switch <account>` (see `xtalk status`) or `xtalk login`.';
      if (facts.reason === 'no_match') return 'Run `xtalk status` to list accounts, or `xtalk login` to add one.';
      if (facts.reason === 'logged_out') return HINTS.SESSION_EXPIRED;
      return HINTS.LOGIN_REQUIRED;
    case 'TIMEOUT':
      if (facts.waitingFor === 'sign_out')
        return "The tokens are revoked; sign out on the provider's web page, or run `xtalk logout --browser` again after `xtalk login`.";
      return HINTS.TIMEOUT;
    case 'KEYCHAIN_UNAVAILABLE':
      if (facts.reason === 'key_in_keychain') {
        return 'Unlock or start the keychain and retry. xtalk will not switch to a key file by itself: the stored tokens are readable only with the keychain key.';
      }
      return HINTS.KEYCHAIN_UNAVAILABLE;
    case 'ID_TOKEN_INVALID':
      return idTokenHint(facts);
    case 'DISCOVERY_FAILED':
      if (facts.reason === undefined && typeof facts.was === 'string' && facts.was !== code) return hintFor({ code: facts.was, facts });
      return discoveryHint(facts);
    case 'INVALID_CLIENT':
      return invalidClientHint(facts);
    case 'DEVICE_SIGN_IN_ENDED':
      return DEVICE_ENDINGS[error ?? ''] ?? oauthErrorHint(error);
    case 'PROVIDER_ERROR':
      if (facts.reason === 'device_code_expired') return DEVICE_ENDINGS.expired_token;
      if (facts.reason === 'no_subject') return 'Make sure the client may use the `openid` scope.';
      // Only for answers the provider gave (facts.answer); other provider errors say all in the message.
      if (facts.answer === 'status') return Number(facts.status) >= 500 ? HINTS.PROVIDER_PROBLEM : oauthErrorHint(undefined);
      return facts.answer === 'oauth' ? oauthErrorHint(error) : undefined;
    case 'CONFIG_INVALID':
      return configHint(facts as FactsOf<'CONFIG_INVALID'>);
    case 'USAGE':
      return facts.reason === 'command_line' ? commandLineHint(facts as FactsOf<'USAGE'>) : usageHint(facts as FactsOf<'USAGE'>);
    case 'STORE_ERROR':
      return storeHint(facts);
    case 'SESSION_EXPIRED':
      // The store's data key is gone (src/store/keys/data-key.ts says where it was).
      if (facts.dataKeyGone)
        return `${dataKeyGone(facts as FactsOf<'SESSION_EXPIRED'>)}, so the stored tokens cannot be decrypted. Run \`xtalk login\` to sign in again.`;
      if (facts.reason === 'no_refresh_token') return 'Run `xtalk login` (with the offline_access scope the session renews itself).';
      if (facts.reason === 'api_refused_after_refresh') {
        return 'Run `xtalk login` to sign in again; if that does not help, the API may not accept tokens from this provider or client.';
      }
      return HINTS.SESSION_EXPIRED;
    case 'NETWORK_ERROR':
      if (facts.reason === 'api_unreachable') return 'Check the URL and the network (and HTTPS_PROXY / NO_PROXY when a proxy is needed).';
      if (facts.reason === 'answer_broke_off') return 'Try again.';
      if (facts.grantSent) return HINTS.ANSWER_LOST;
      return facts.timedOut ? HINTS.PROVIDER_TIMEOUT : HINTS.NETWORK_ERROR;
    case 'DATA_KEY_INVALID':
      // The key file is something else (src/store/keys/data-key.ts says what).
      if (facts.keyFile === 'not_a_file')
        return 'The data key is kept in a regular file (a link to one is fine): put the key file back, or remove this one and run `xtalk login` to sign in again.';
      if (facts.keyFile === 'too_large')
        return 'A key file holds one line of 44 characters: put the key file back, or remove this one and run `xtalk login` to sign in again.';
      return HINTS.DATA_KEY_INVALID;
    case 'BEARER_DESTINATION_REFUSED':
      if (facts.reason === 'not-https') return HINTS.BEARER_NOT_HTTPS;
      if (facts.reason === 'credentials-in-url') return HINTS.BEARER_URL_CREDENTIALS;
      if (facts.reason === 'not-http' || facts.reason === 'not-a-url') return 'Give an https:// URL, or a path under the API base URL.';
      return HINTS.BEARER_DESTINATION_REFUSED;
    case 'MIN_TTL_UNSATISFIABLE':
      return `The provider issues access tokens of ${facts.lifetimeSeconds} s: use --min-ttl below that (the refreshed token was stored).`;
    default:
      return Object.hasOwn(HINTS, code) ? HINTS[code as keyof typeof HINTS] : undefined;
  }
}

/** After a command line commander refused: the closest word when there is one, and the command's help. */
function commandLineHint(facts: FactsOf<'USAGE'>): string {
  const help = `Run \`xtalk ${facts.command ? `${facts.command} ` : ''}--help\` for usage.`;
  return facts.suggestion ? `Did you mean ${facts.suggestion}? ${help}` : help;
}
