import { ProviderError, XtalkError, type FactsOf } from '../../errors.js';
import { quote } from '../../oidc/error-text.js';
import type { AccountRecord } from '../../core/session-records.js';
import type { RefreshResult } from '../../core/provider-records.js';

/** What xtalk checks of a refresh answer after committing it, and the error a failed check is reported with. */

/** OIDC Core 12.2: an ID token in a refresh response must be about the same session. */
export function sameSessionProblem(
  idClaims: Record<string, unknown> | undefined,
  account: AccountRecord,
  issuer: string,
): RefreshResult['unverified'] {
  if (!idClaims) return undefined;
  const problem = (message: string) => ({ error: new ProviderError('ID_TOKEN_INVALID', message), keysUnavailable: false });
  if (idClaims.iss !== account.issuer || issuer !== account.issuer) {
    return problem(`The refreshed ID token was issued by ${quote(idClaims.iss)}, not ${quote(account.issuer)}.`);
  }
  if (idClaims.sub !== account.sub)
    return problem(`The refreshed ID token is for subject ${quote(idClaims.sub)}, not ${quote(account.sub)}.`);
  const aud = Array.isArray(idClaims.aud) ? idClaims.aud : [idClaims.aud];
  if (account.clientId && !aud.includes(account.clientId))
    return problem(`The refreshed ID token is not meant for client ${quote(account.clientId)}.`);
  return undefined;
}

/**
 * The error a failed check after the grant is reported with. When the provider rotated the refresh
 * token, the new one was kept (grantAndStore in fresh-token.ts), and the hint must say so rather than "nothing was stored".
 */
export function checkFailure(error: Error, refreshTokenKept: boolean): XtalkError {
  if (error instanceof XtalkError && error.code !== 'ID_TOKEN_INVALID') return error;
  if (!refreshTokenKept)
    return error instanceof XtalkError ? error : new ProviderError('ID_TOKEN_INVALID', error.message, { cause: error });
  // The facts of the check (and the provider's answer, kept in the facts) go along.
  const facts = (error instanceof XtalkError ? error.facts : {}) as FactsOf<'ID_TOKEN_INVALID'>;
  return new ProviderError('ID_TOKEN_INVALID', error.message, { facts: { ...facts, refreshTokenKept: true }, cause: error });
}
