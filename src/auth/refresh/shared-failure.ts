import { ERROR_CLASSES, ExitCode, XtalkError, type FactsOf, type KnownErrorCode } from '../../errors.js';
import type { RefreshFailure } from '../../core/session-records.js';

/**
 * A failed refresh as the processes waiting for it read it (recorded under the write lock, see
 * TokenStore.recordRefreshFailure): each reports the same error instead of trying again.
 */

/** What the waiting processes read of a failed refresh: the words of the hint are their edge's. */
export function failureRecord(e: XtalkError, at: number): RefreshFailure {
  return { at, name: e.name, message: e.message, code: e.code, facts: e.facts, exitCode: e.exitCode };
}

/** The codes a recorded failure of an older xtalk (no code) had, by the class it named. */
const CODE_OF_CLASS: Readonly<Record<string, KnownErrorCode>> = {
  SessionExpiredError: 'SESSION_EXPIRED',
  NetworkError: 'NETWORK_ERROR',
  ProviderError: 'PROVIDER_ERROR',
};

/** The error another process recorded, as the same class and code, so it is reported the same way. */
export function reviveFailure(f: RefreshFailure): XtalkError {
  const code = (f.code ?? CODE_OF_CLASS[f.name] ?? (f.exitCode === ExitCode.AuthRequired ? 'LOGIN_REQUIRED' : 'ERROR')) as KnownErrorCode;
  const Class: typeof XtalkError<KnownErrorCode> = Object.hasOwn(ERROR_CLASSES, f.name)
    ? ERROR_CLASSES[f.name as keyof typeof ERROR_CLASSES]
    : XtalkError;
  return new Class(code, f.message, { facts: f.facts as FactsOf<KnownErrorCode> });
}
