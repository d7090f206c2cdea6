import { ok, warn, type CheckResult } from './check.js';

/**
 * What `xtalk logout` can end at this provider, in one line: its tokens (RFC 7009, when the
 * revocation check found a usable endpoint) and its browser session (RP-Initiated Logout, when
 * discovery names an end_session_endpoint). Ending a session ends its tokens at many providers, not
 * provably, so the words promise no more.
 */
export function checkLogout(revocation: CheckResult, endSessionEndpoint: string | undefined): CheckResult {
  const revokes = revocation.status === 'ok';
  if (revokes && endSessionEndpoint) return ok('logout', 'revokes the tokens (RFC 7009); `--browser` also ends the browser session');
  if (revokes) return ok('logout', 'revokes the tokens (RFC 7009); no end_session_endpoint, so `--browser` cannot end the browser session');
  if (endSessionEndpoint) {
    return warn(
      'logout',
      "no revocation endpoint: `xtalk logout --browser` ends the provider's session (and with it the tokens at many providers), then deletes them here; `--force` only deletes them here",
    );
  }
  return warn(
    'logout',
    'no revocation or end_session endpoint: xtalk cannot end the tokens or the session at the provider; `xtalk logout --force` only deletes them here (valid until they expire)',
  );
}
