/**
 * The Node API of `@iottalk/xtalk`: the CLI's configuration, store and single-flight refresh for
 * JavaScript programs. Loading it never loads the command-line parser.
 */
export { createFetch, type CreateFetchOptions, type FetchFunction } from './api/create-fetch.js';
export { getAccessToken, getToken, listAccounts, whoami, type SessionOptions, type TokenRequest } from './api/session.js';
export type { AccountJson as Account, TokenJson as Token } from './auth/account-view.js';
export {
  CancelledError,
  ConfigError,
  ErrorCodes,
  isXtalkError,
  KeychainError,
  LoginRequiredError,
  NetworkError,
  NotLoggedInError,
  ProviderError,
  RevocationFailedError,
  SessionExpiredError,
  StoreError,
  UsageError,
  XtalkError,
  type ErrorCode,
  type KnownErrorCode,
} from './errors.js';
export { isInvalidTokenChallenge } from './net/bearer-challenge.js';
