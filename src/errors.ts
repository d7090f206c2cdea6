import type { ErrorFacts, FactsOf, ProviderAnswer } from './core/error-facts.js';
import { hintFor } from './hints.js';

/** Exit codes fixed by the CLI contract. */
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Usage: 2,
  AuthRequired: 4,
  RevocationFailed: 5,
  /** `xtalk exec`: the command could not be started (as in a shell). */
  CannotExecute: 126,
  CommandNotFound: 127,
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The public classes an error is thrown as (docs/node-api.md), by name. */
export type ErrorClassName =
  | 'XtalkError'
  | 'UsageError'
  | 'ConfigError'
  | 'LoginRequiredError'
  | 'NotLoggedInError'
  | 'SessionExpiredError'
  | 'ProviderError'
  | 'NetworkError'
  | 'KeychainError'
  | 'StoreError'
  | 'RevocationFailedError'
  | 'CancelledError';

const row = (exitCode: ExitCodeValue, ...classes: ErrorClassName[]) => ({ exitCode, classes });

/**
 * The stable codes errors carry (the CLI contract; docs/node-api.md, Errors). Scripts and the Node API
 * branch on these, never on messages. Each row gives the exit code and the class(es) the error is
 * thrown as; the hint's words depend on the reader (the CLI's may name its flags, the Node API's never do).
 */
export const ErrorCodes = {
  /** Anything expected without a more specific code. */
  ERROR: row(ExitCode.Error, 'XtalkError'),
  USAGE: row(ExitCode.Usage, 'UsageError', 'ConfigError'),
  CONFIG_INVALID: row(ExitCode.Error, 'ConfigError'),
  LOGIN_REQUIRED: row(ExitCode.AuthRequired, 'NotLoggedInError', 'LoginRequiredError'),
  SESSION_EXPIRED: row(ExitCode.AuthRequired, 'SessionExpiredError'),
  PROVIDER_ERROR: row(ExitCode.Error, 'ProviderError'),
  DISCOVERY_FAILED: row(ExitCode.Error, 'ProviderError'),
  NETWORK_ERROR: row(ExitCode.Error, 'NetworkError'),
  KEYCHAIN_UNAVAILABLE: row(ExitCode.Error, 'KeychainError'),
  STORE_ERROR: row(ExitCode.Error, 'StoreError'),
  REVOCATION_FAILED: row(ExitCode.RevocationFailed, 'RevocationFailedError'),
  CANCELLED: row(ExitCode.Interrupted, 'CancelledError'),
  // More specific codes (issue 12): adapters throw these with the facts in fields, the words are in hints.ts.
  ID_TOKEN_INVALID: row(ExitCode.Error, 'ProviderError'),
  INVALID_CLIENT: row(ExitCode.Error, 'ProviderError'),
  CLIENT_SECRET_REQUIRED: row(ExitCode.Error, 'ConfigError'),
  AUTHORIZATION_CODE_REJECTED: row(ExitCode.Error, 'ProviderError'),
  DEVICE_FLOW_UNAVAILABLE: row(ExitCode.Usage, 'UsageError'),
  DEVICE_SIGN_IN_ENDED: row(ExitCode.Error, 'ProviderError'),
  ENDPOINT_REFUSED: row(ExitCode.Error, 'ProviderError'),
  RESPONSE_TOO_LARGE: row(ExitCode.Error, 'ProviderError'),
  ENDPOINT_MISSING: row(ExitCode.Error, 'ProviderError'),
  PORT_IN_USE: row(ExitCode.Error, 'XtalkError'),
  PORT_UNAVAILABLE: row(ExitCode.Error, 'XtalkError'),
  PORT_INVALID: row(ExitCode.Usage, 'UsageError'),
  TIMEOUT_INVALID: row(ExitCode.Usage, 'UsageError'),
  TIMEOUT: row(ExitCode.Error, 'XtalkError'),
  SIGN_IN_LINK_REUSED: row(ExitCode.Error, 'XtalkError'),
  TOKEN_UNDECRYPTABLE: row(ExitCode.Error, 'StoreError'),
  DATA_KEY_INVALID: row(ExitCode.Error, 'StoreError'),
  ACCOUNT_GONE: row(ExitCode.Error, 'StoreError'),
  ACCOUNT_NOT_FOUND: row(ExitCode.Error, 'StoreError'),
  INTERNAL: row(ExitCode.Error, 'StoreError'),
  NOT_OAUTH_ANSWER: row(ExitCode.Error, 'ProviderError'),
  REFRESH_WAIT_TIMEOUT: row(ExitCode.Error, 'NetworkError'),
  TOO_MANY_OPEN_FILES: row(ExitCode.Error, 'XtalkError'),
  // Issue 21: the trust rules of src/core/.
  /** The loopback listener refused a connection whose owner is another local user, or unknown (facts: reason, peerUid). */
  LOOPBACK_PEER_REFUSED: row(ExitCode.Error, 'XtalkError'),
  /** A request would carry the bearer token to an origin the rule does not allow (facts: origin, reason). */
  BEARER_DESTINATION_REFUSED: row(ExitCode.Usage, 'XtalkError'),
  // Issue 22: `xtalk exec` could not start the command (the exit codes a shell uses).
  COMMAND_NOT_FOUND: row(ExitCode.CommandNotFound, 'XtalkError'),
  CANNOT_EXECUTE: row(ExitCode.CannotExecute, 'XtalkError'),
  // Issue 24: a min-ttl longer than the provider's tokens last (facts: minTtlSeconds, lifetimeSeconds).
  MIN_TTL_UNSATISFIABLE: row(ExitCode.Usage, 'UsageError'),
} as const satisfies Record<string, { exitCode: ExitCodeValue; classes: readonly ErrorClassName[] }>;

/** A code listed in {@link ErrorCodes}. */
export type KnownErrorCode = keyof typeof ErrorCodes;
/** A known code, or a more specific one a caller chose (`string & {}` keeps editor completion). */
export type ErrorCode = KnownErrorCode | (string & {});

export type { ConfigFacts, ErrorFacts, FactsByCode, FactsOf, PlainFacts, ProviderAnswer, UsageFacts } from './core/error-facts.js';

/** What every error constructor accepts besides the code and the message. */
export interface XtalkErrorOptions<C extends KnownErrorCode = KnownErrorCode> {
  /** What the hint for the code needs to know; never a secret. */
  facts?: FactsOf<C>;
  cause?: unknown;
}

function known(code: string): (typeof ErrorCodes)[KnownErrorCode] | undefined {
  return Object.hasOwn(ErrorCodes, code) ? ErrorCodes[code as KnownErrorCode] : undefined;
}

/** The hint an edge (the Node API, src/api/hints.ts) chose for an error, in place of the CLI's. */
const edgeHints = new WeakMap<XtalkError, string | undefined>();

/**
 * An expected failure: printed as one line plus a hint, never with a stack trace. Anything that is
 * not an XtalkError is a bug. Every error of ours is made the same way, `new Class(code, message,
 * { facts, cause })`: the exit code follows from the code's row in {@link ErrorCodes} (an unlisted
 * code exits as the class's own code does), the class is the one that row names.
 */
export class XtalkError<C extends KnownErrorCode = KnownErrorCode> extends Error {
  /** The code an unlisted code takes its exit code from. */
  static readonly ownCode: KnownErrorCode = 'ERROR';
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly facts: ErrorFacts;
  constructor(code: C, message: string, opts: XtalkErrorOptions<C> = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = (known(code) ?? ErrorCodes[(new.target as typeof XtalkError).ownCode]).exitCode;
    this.facts = (opts.facts ?? {}) as ErrorFacts;
  }

  /**
   * The one-line advice, worded from the code and its facts: the CLI's words, or the Node API's
   * (which name no CLI flag) where the error reached a program.
   */
  get hint(): string | undefined {
    return edgeHints.has(this) ? edgeHints.get(this) : hintFor(this);
  }
}

/**
 * The edge that hands an error to its reader sets the hint that reader gets (the Node API: words
 * that name no CLI flag). Returns the error.
 */
export function setEdgeHint<E extends XtalkError>(e: E, hint: string | undefined): E {
  edgeHints.set(e, hint);
  return e;
}

/** Wrong flags, missing required configuration: exit 2, code USAGE. */
export class UsageError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'USAGE';
}

/**
 * A bad configuration value: exit 1 (the contract's "bad config", code CONFIG_INVALID) when it
 * comes from the environment, `.env` or `config.json`; exit 2 (code USAGE) when the user typed it
 * as a flag or argument.
 */
export class ConfigError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'CONFIG_INVALID';
}

/**
 * The selected account has no usable session: exit 4, hint `xtalk login`. The Node API throws
 * this (or a subclass) wherever the CLI exits 4; catch it to ask the user to sign in.
 */
export class LoginRequiredError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'LOGIN_REQUIRED';
}

/** No stored session for the selected account: exit 4, code LOGIN_REQUIRED. */
export class NotLoggedInError<C extends KnownErrorCode = KnownErrorCode> extends LoginRequiredError<C> {}

/** The session exists but the provider no longer accepts it: exit 4, code SESSION_EXPIRED. */
export class SessionExpiredError<C extends KnownErrorCode = KnownErrorCode> extends LoginRequiredError<C> {
  static override readonly ownCode: KnownErrorCode = 'SESSION_EXPIRED';
}

/**
 * The provider answered with an OAuth error, or an ID token failed validation: exit 1, code
 * PROVIDER_ERROR or a more specific one. `error` and `errorDescription` are the answer's (facts).
 */
export class ProviderError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'PROVIDER_ERROR';
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  constructor(code: C, message: string, opts: XtalkErrorOptions<C> = {}) {
    super(code, message, opts);
    const answer = this.facts as ProviderAnswer;
    this.error = typeof answer.error === 'string' ? answer.error : undefined;
    this.errorDescription = typeof answer.errorDescription === 'string' ? answer.errorDescription : undefined;
  }
}

/** The provider could not be reached or timed out: exit 1, code NETWORK_ERROR. */
export class NetworkError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'NETWORK_ERROR';
}

/** The OS keychain could not be used where it was required: exit 1, code KEYCHAIN_UNAVAILABLE. */
export class KeychainError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'KEYCHAIN_UNAVAILABLE';
}

/** The local store is unusable (corrupt, foreign or newer database): exit 1, code STORE_ERROR. */
export class StoreError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'STORE_ERROR';
}

/** Logout could not revoke every token; nothing was deleted: exit 5, code REVOCATION_FAILED. */
export class RevocationFailedError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'REVOCATION_FAILED';
}

/**
 * Ctrl-C or SIGTERM: exit 130, code CANCELLED. In the Node API: the `signal` passed to
 * getAccessToken, getToken or createFetch (or a request's own `signal`) aborted while the call
 * waited for a refresh.
 */
export class CancelledError<C extends KnownErrorCode = KnownErrorCode> extends XtalkError<C> {
  static override readonly ownCode: KnownErrorCode = 'CANCELLED';
}

/** The public classes by name (the table's `classes`), e.g. to make again an error another process recorded. */
export const ERROR_CLASSES = {
  XtalkError,
  UsageError,
  ConfigError,
  LoginRequiredError,
  NotLoggedInError,
  SessionExpiredError,
  ProviderError,
  NetworkError,
  KeychainError,
  StoreError,
  RevocationFailedError,
  CancelledError,
} as const satisfies Record<ErrorClassName, typeof XtalkError<KnownErrorCode>>;

/**
 * EMFILE or ENFILE (the process's or the system's limit on open files), on `e` or a cause under it,
 * as an XtalkError with code TOO_MANY_OPEN_FILES (also under an error of ours that blamed something
 * else: the key file, the network); undefined for anything else.
 */
export function tooManyOpenFiles(e: unknown): XtalkError | undefined {
  for (let err = e, depth = 0; err && typeof err === 'object' && depth < 5; err = (err as { cause?: unknown }).cause, depth++) {
    if (err instanceof XtalkError && err.code === 'TOO_MANY_OPEN_FILES') return err;
    const code = (err as { code?: unknown }).code;
    if (code === 'EMFILE' || code === 'ENFILE') {
      const which = code === 'EMFILE' ? 'this process has' : 'the system has';
      return new XtalkError('TOO_MANY_OPEN_FILES', `Too many open files: ${which} reached its limit (${code}).`, { cause: e });
    }
  }
  return undefined;
}

/** True for an error of xtalk's (any class above), which carries a stable `code`. */
export function isXtalkError(e: unknown): e is XtalkError {
  return e instanceof XtalkError;
}
