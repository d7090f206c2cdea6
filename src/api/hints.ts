/**
 * The hints the Node API hands to programs, in one place: the same advice as the CLI's
 * (src/hints.ts), but never naming a flag of the CLI — a program passes options, not `--port`.
 * Naming an xtalk command is fine (users sign in with `xtalk login`), and so are settings
 * (`XTALK_…`, config.json) and this API's own options. Where the CLI's words name a flag and no
 * words are written here, the program gets no hint rather than advice it cannot follow.
 *
 * Every error the Node API throws passes {@link forProgram} (src/api/open-session.ts, session.ts,
 * create-fetch.ts), which sets these words as its `hint`.
 */

import type { FactsOf } from '../core/error-facts.js';
import { setEdgeHint, XtalkError } from '../errors.js';
import { hintFor, type HintSource } from '../hints.js';

/** A flag of the CLI (`--port`, `--timeout`) in a hint; a shell's option (`ulimit -n`) is not one. */
export const NAMES_A_FLAG = /(^|[\s(`'"])--[a-zA-Z]/;

const CHOOSE_PORT = 'Choose another port with XTALK_PORT, or use 0 to let the system pick a free one.';

/** The Node API's words where the CLI's name a flag (or say what a program does otherwise). */
function programWords(e: HintSource): string | undefined {
  const { code } = e;
  switch (code) {
    case 'USAGE': {
      const facts = e.facts as FactsOf<'USAGE'>;
      if (facts.reason === 'relative_url_without_base') return 'Pass createFetch({ baseUrl: "https://…" }), or give the full https:// URL.';
      if (facts.reason === 'min_ttl') return 'For example: getAccessToken({ minTtl: 300 })';
      if (facts.missing === 'client') {
        return 'Set XTALK_ISSUER and XTALK_CLIENT_ID (and XTALK_CLIENT_SECRET for a confidential client), or use an X-Talk .env with OIDC_DISCOVERY_ENDPOINT and OAUTH2_CLIENT_ID.';
      }
      return settingWords(facts);
    }
    case 'CONFIG_INVALID':
      return settingWords(e.facts as FactsOf<'CONFIG_INVALID'>);
    case 'PROVIDER_ERROR':
    case 'DEVICE_SIGN_IN_ENDED': {
      const facts = e.facts as FactsOf<'PROVIDER_ERROR'>;
      if (facts.error === 'invalid_scope') return 'Ask only for scopes the provider knows, with XTALK_SCOPE (e.g. "openid profile email").';
      if (facts.answer === 'oauth' || facts.answer === 'status' || code === 'DEVICE_SIGN_IN_ENDED') {
        const words = hintFor(e);
        return words && !NAMES_A_FLAG.test(words) ? words : "The error's cause holds the provider's answer.";
      }
      return undefined;
    }
    case 'ID_TOKEN_INVALID':
      if ((e.facts as FactsOf<'ID_TOKEN_INVALID'>).check === 'auth_time') {
        return 'The provider did not make you sign in again although xtalk asked it to (prompt=login, max_age=0); ask the provider administrator.';
      }
      return undefined;
    case 'REVOCATION_FAILED':
      if ((e.facts as FactsOf<'REVOCATION_FAILED'>).reason === 'no_endpoint') {
        const endSession = (e.facts as FactsOf<'REVOCATION_FAILED'>).endSession
          ? " Without it, ending the provider's session (RP-Initiated Logout) is the most that can end them, at many providers."
          : '';
        return `Set XTALK_REVOCATION_ENDPOINT (or OAUTH2_REVOCATION_ENDPOINT in .env) to the provider's revocation URL on the issuer's origin.${endSession}`;
      }
      if ((e.facts as FactsOf<'REVOCATION_FAILED'>).reason === 'session_not_ended') {
        return 'The provider did not confirm the sign-out; the tokens were kept. Try again and finish the sign-out in the browser.';
      }
      return 'Retry later; the tokens were kept.';
    case 'MIN_TTL_UNSATISFIABLE':
      return `The provider issues access tokens of ${e.facts.lifetimeSeconds} s: ask for a minTtl below that (the refreshed token was stored).`;
    case 'DEVICE_FLOW_UNAVAILABLE':
      return 'The provider offers no device flow: sign in with `xtalk login` and a browser instead.';
    case 'PORT_IN_USE':
    case 'PORT_UNAVAILABLE':
      return CHOOSE_PORT;
    case 'PORT_INVALID':
      return 'Use a port between 1 and 65535 in XTALK_PORT, or 0 for any free port.';
    case 'TIMEOUT_INVALID':
      return 'Use a positive number of seconds.';
    case 'TIMEOUT':
      return (e.facts as FactsOf<'TIMEOUT'>).waitingFor === 'sign_out'
        ? "The tokens are revoked; sign out on the provider's web page."
        : 'Run `xtalk login` again.';
    case 'SIGN_IN_LINK_REUSED':
      return 'Run `xtalk login` again. If it happens again, another user of this machine may be watching your processes.';
    case 'TOKEN_UNDECRYPTABLE':
      return 'The token or its data key was changed or replaced. Run `xtalk login` to sign in again.';
    case 'LOOPBACK_PEER_REFUSED':
      return 'Only the user who runs xtalk may open the pages of its local listener; the link still works for you.';
    case 'BEARER_DESTINATION_REFUSED': {
      const facts = e.facts as FactsOf<'BEARER_DESTINATION_REFUSED'>;
      if (facts.reason === 'origin-not-allowed') {
        return 'The token goes only to the API origin (api_url / XTALK_API_URL), the issuer, or an origin named in createFetch({ baseUrl }) or allowedOrigins.';
      }
      if (facts.reason === 'not-https') {
        return 'Use the https:// address. If this server has no https and the network to it is trusted, opt in for exactly this origin: createFetch({ insecureHttpOrigins }), or insecure_http_origins in config.json or XTALK_INSECURE_HTTP_ORIGINS; a .env cannot set it.';
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** A bad setting, worded by where a program sets it. */
function settingWords(facts: FactsOf<'CONFIG_INVALID'> | FactsOf<'USAGE'>): string | undefined {
  if (facts.reason === undefined && facts.setting === 'timeout') return 'Give the number of seconds to wait, e.g. XTALK_TIMEOUT=120.';
  return undefined;
}

/**
 * The hint a program gets for an error: the words above, else the CLI's when they name no flag,
 * else none.
 */
export function apiHintFor(e: HintSource): string | undefined {
  const words = programWords(e) ?? hintFor(e);
  return words === undefined || NAMES_A_FLAG.test(words) ? undefined : words;
}

/** Runs the synchronous part of an API call: what it throws leaves with the Node API's hint. */
export function programCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw forProgram(e);
  }
}

/** Gives an error of ours the Node API's hint, as it leaves the API; anything else passes as it is. */
export function forProgram<T>(e: T): T {
  if (e instanceof XtalkError) setEdgeHint(e, apiHintFor(e));
  return e;
}
