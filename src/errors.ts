import { hintFor, HINTS } from './hints.js';

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

/**
 * The stable codes errors carry (the CLI contract; README "Error codes"). Scripts and the Node API
 * branch on these, never on messages. A more specific code may be given where a class is used for
 * several situations; unknown codes exit 1.
 */
export const ErrorCodes = {
  /** Anything expected without a more specific code. */
  ERROR: { exitCode: ExitCode.Error, hint: undefined },
  USAGE: { exitCode: ExitCode.Usage, hint: undefined },
  CONFIG_INVALID: { exitCode: ExitCode.Error, hint: undefined },
  LOGIN_REQUIRED: { exitCode: ExitCode.AuthRequired, hint: HINTS.LOGIN_REQUIRED },
  SESSION_EXPIRED: { exitCode: ExitCode.AuthRequired, hint: HINTS.SESSION_EXPIRED },
  PROVIDER_ERROR: { exitCode: ExitCode.Error, hint: undefined },
  DISCOVERY_FAILED: { exitCode: ExitCode.Error, hint: undefined },
  NETWORK_ERROR: { exitCode: ExitCode.Error, hint: HINTS.NETWORK_ERROR },
  KEYCHAIN_UNAVAILABLE: { exitCode: ExitCode.Error, hint: HINTS.KEYCHAIN_UNAVAILABLE },
  STORE_ERROR: { exitCode: ExitCode.Error, hint: undefined },
  REVOCATION_FAILED: { exitCode: ExitCode.RevocationFailed, hint: HINTS.REVOCATION_FAILED },
  CANCELLED: { exitCode: ExitCode.Interrupted, hint: undefined },
  // More specific codes (issue 12): adapters throw these with the facts in fields, the words are in hints.ts.
  ID_TOKEN_INVALID: { exitCode: ExitCode.Error, hint: HINTS.ID_TOKEN_INVALID },
  INVALID_CLIENT: { exitCode: ExitCode.Error, hint: undefined },
  CLIENT_SECRET_REQUIRED: { exitCode: ExitCode.Error, hint: HINTS.CLIENT_SECRET_REQUIRED },
  AUTHORIZATION_CODE_REJECTED: { exitCode: ExitCode.Error, hint: HINTS.AUTHORIZATION_CODE_REJECTED },
  DEVICE_FLOW_UNAVAILABLE: { exitCode: ExitCode.Usage, hint: HINTS.DEVICE_FLOW_UNAVAILABLE },
  DEVICE_SIGN_IN_ENDED: { exitCode: ExitCode.Error, hint: undefined },
  ENDPOINT_REFUSED: { exitCode: ExitCode.Error, hint: HINTS.ENDPOINT_REFUSED },
  RESPONSE_TOO_LARGE: { exitCode: ExitCode.Error, hint: HINTS.RESPONSE_TOO_LARGE },
  ENDPOINT_MISSING: { exitCode: ExitCode.Error, hint: HINTS.ENDPOINT_MISSING },
  PORT_IN_USE: { exitCode: ExitCode.Error, hint: HINTS.PORT_IN_USE },
  PORT_UNAVAILABLE: { exitCode: ExitCode.Error, hint: HINTS.PORT_UNAVAILABLE },
  PORT_INVALID: { exitCode: ExitCode.Usage, hint: HINTS.PORT_INVALID },
  TIMEOUT_INVALID: { exitCode: ExitCode.Usage, hint: HINTS.TIMEOUT_INVALID },
  TIMEOUT: { exitCode: ExitCode.Error, hint: HINTS.TIMEOUT },
  SIGN_IN_LINK_REUSED: { exitCode: ExitCode.Error, hint: HINTS.SIGN_IN_LINK_REUSED },
  TOKEN_UNDECRYPTABLE: { exitCode: ExitCode.Error, hint: HINTS.TOKEN_UNDECRYPTABLE },
  DATA_KEY_INVALID: { exitCode: ExitCode.Error, hint: HINTS.DATA_KEY_INVALID },
  ACCOUNT_GONE: { exitCode: ExitCode.Error, hint: HINTS.ACCOUNT_GONE },
  ACCOUNT_NOT_FOUND: { exitCode: ExitCode.Error, hint: HINTS.ACCOUNT_NOT_FOUND },
  INTERNAL: { exitCode: ExitCode.Error, hint: HINTS.INTERNAL },
  NOT_OAUTH_ANSWER: { exitCode: ExitCode.Error, hint: HINTS.NOT_OAUTH_ANSWER },
  REFRESH_WAIT_TIMEOUT: { exitCode: ExitCode.Error, hint: HINTS.REFRESH_WAIT_TIMEOUT },
  TOO_MANY_OPEN_FILES: { exitCode: ExitCode.Error, hint: HINTS.TOO_MANY_OPEN_FILES },
  // Issue 21: the trust rules of src/core/.
  /** The loopback listener refused a connection whose owner is another local user, or unknown (facts: reason, peerUid). */
  LOOPBACK_PEER_REFUSED: { exitCode: ExitCode.Error, hint: HINTS.LOOPBACK_PEER_REFUSED },
  /** A request would carry the bearer token to an origin the rule does not allow (facts: origin, reason). */
  BEARER_DESTINATION_REFUSED: { exitCode: ExitCode.Usage, hint: HINTS.BEARER_DESTINATION_REFUSED },
} as const satisfies Record<string, { exitCode: ExitCodeValue; hint: string | undefined }>;

export type KnownErrorCode = keyof typeof ErrorCodes;
/** A known code, or a more specific one a caller chose (`string & {}` keeps editor completion). */
export type ErrorCode = KnownErrorCode | (string & {});

/** The code a bare XtalkError gets from the exit code it was given. */
const CODE_BY_EXIT: Partial<Record<ExitCodeValue, KnownErrorCode>> = {
  [ExitCode.Usage]: 'USAGE',
  [ExitCode.AuthRequired]: 'LOGIN_REQUIRED',
  [ExitCode.RevocationFailed]: 'REVOCATION_FAILED',
  [ExitCode.Interrupted]: 'CANCELLED',
};

function known(code: string): { exitCode: ExitCodeValue; hint: string | undefined } | undefined {
  return Object.hasOwn(ErrorCodes, code) ? ErrorCodes[code as KnownErrorCode] : undefined;
}

/** What every error constructor accepts besides its message. */
export interface XtalkErrorOptions {
  exitCode?: ExitCodeValue;
  hint?: string;
  cause?: unknown;
  /** A stable code more specific than the class's default. */
  code?: ErrorCode;
  /** What the hint for the code needs to know (an alg, a method, a port …); never a secret. */
  facts?: ErrorFacts;
}

/** Facts an adapter gives with its code, from which src/hints.ts words the hint. */
export type ErrorFacts = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * An expected failure: printed as one line plus a hint, never with a stack trace.
 * Anything that is not an XtalkError is a bug. The exit code and hint follow from `code`
 * ({@link ErrorCodes}) unless given explicitly.
 */
export class XtalkError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly facts: ErrorFacts;
  readonly #hint: string | undefined;
  constructor(message: string, opts: XtalkErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code ?? (opts.exitCode !== undefined ? CODE_BY_EXIT[opts.exitCode] : undefined) ?? 'ERROR';
    const entry = known(this.code);
    this.exitCode = opts.exitCode ?? entry?.exitCode ?? ExitCode.Error;
    this.facts = opts.facts ?? {};
    this.#hint = opts.hint;
  }

  /**
   * The one-line advice: the one given by whoever threw (a use case), else the words src/hints.ts
   * keeps for the code and its facts. Adapters give codes and facts, never the words.
   */
  get hint(): string | undefined {
    return this.#hint ?? hintFor(this.code, this.facts, (this as { error?: string }).error);
  }
}

/** Options of the subclasses: the exit code follows from the class (or the code). */
export type ErrorOptions = Omit<XtalkErrorOptions, 'exitCode'>;

/** Wrong flags, missing required configuration: exit 2, code USAGE. */
export class UsageError extends XtalkError {
  constructor(message: string, hint?: string, opts: ErrorOptions = {}) {
    super(message, { ...opts, hint: hint ?? opts.hint, exitCode: ExitCode.Usage, code: opts.code ?? 'USAGE' });
  }
}

/**
 * A bad configuration value: exit 1 (the contract's "bad config", code CONFIG_INVALID) when it
 * comes from the environment, `.env` or `config.json`; exit 2 (code USAGE) when the user typed it
 * as a flag or argument.
 */
export class ConfigError extends XtalkError {
  constructor(message: string, hint?: string, exitCode: ExitCodeValue = ExitCode.Error, opts: ErrorOptions = {}) {
    super(message, { ...opts, hint: hint ?? opts.hint, exitCode, code: opts.code ?? (exitCode === ExitCode.Usage ? 'USAGE' : 'CONFIG_INVALID') });
  }
}

/**
 * The selected account has no usable session: exit 4, hint `xtalk login`. The Node API throws
 * this (or a subclass) wherever the CLI exits 4; catch it to ask the user to sign in.
 */
export class LoginRequiredError extends XtalkError {
  constructor(message = 'You are not logged in.', opts: ErrorOptions = {}) {
    super(message, { ...opts, exitCode: ExitCode.AuthRequired, code: opts.code ?? 'LOGIN_REQUIRED' });
  }
}

/** No stored session for the selected account: exit 4, code LOGIN_REQUIRED. */
export class NotLoggedInError extends LoginRequiredError {
  constructor(message = 'You are not logged in.', hint?: string, opts: ErrorOptions = {}) {
    super(message, { ...opts, hint: hint ?? opts.hint });
  }
}

/** The session exists but the provider no longer accepts it: exit 4, code SESSION_EXPIRED. */
export class SessionExpiredError extends LoginRequiredError {
  constructor(message = 'Your session has expired.', opts: ErrorOptions = {}) {
    super(message, { ...opts, code: opts.code ?? 'SESSION_EXPIRED' });
  }
}

/** The provider answered with an OAuth error, or an ID token failed validation: exit 1, code PROVIDER_ERROR. */
export class ProviderError extends XtalkError {
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  constructor(message: string, opts: ErrorOptions & { error?: string; errorDescription?: string } = {}) {
    super(message, { hint: opts.hint, cause: opts.cause, facts: opts.facts, code: opts.code ?? 'PROVIDER_ERROR' });
    this.error = opts.error;
    this.errorDescription = opts.errorDescription;
  }
}

/** The provider could not be reached or timed out: exit 1, code NETWORK_ERROR. */
export class NetworkError extends XtalkError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, { ...opts, code: opts.code ?? 'NETWORK_ERROR' });
  }
}

/** The OS keychain could not be used where it was required: exit 1, code KEYCHAIN_UNAVAILABLE. */
export class KeychainError extends XtalkError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, { ...opts, code: opts.code ?? 'KEYCHAIN_UNAVAILABLE' });
  }
}

/** The local store is unusable (corrupt, foreign or newer database): exit 1, code STORE_ERROR. */
export class StoreError extends XtalkError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, { ...opts, code: opts.code ?? 'STORE_ERROR' });
  }
}

/** Logout could not revoke every token; nothing was deleted: exit 5, code REVOCATION_FAILED. */
export class RevocationFailedError extends XtalkError {
  constructor(message: string, hint?: string, opts: ErrorOptions = {}) {
    super(message, { ...opts, hint: hint ?? opts.hint, exitCode: ExitCode.RevocationFailed, code: opts.code ?? 'REVOCATION_FAILED' });
  }
}

/** Ctrl-C or SIGTERM (or an aborted signal in the Node API): exit 130, code CANCELLED. */
export class CancelledError extends XtalkError {
  constructor(message = 'Cancelled.', opts: ErrorOptions = {}) {
    super(message, { ...opts, exitCode: ExitCode.Interrupted, code: opts.code ?? 'CANCELLED' });
  }
}

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
      return new XtalkError(`Too many open files: ${which} reached its limit (${code}).`, { code: 'TOO_MANY_OPEN_FILES', cause: e });
    }
  }
  return undefined;
}

export function isXtalkError(e: unknown): e is XtalkError {
  return e instanceof XtalkError;
}
