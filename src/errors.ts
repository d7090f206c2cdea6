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
 * An expected failure: printed as one line plus a hint, never with a stack trace.
 * Anything that is not an XtalkError is a bug.
 */
export class XtalkError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  constructor(message: string, opts: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? ExitCode.Error;
    this.hint = opts.hint;
  }
}

/** Wrong flags, missing required configuration: exit 2. */
export class UsageError extends XtalkError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.Usage, hint });
  }
}

/**
 * A bad configuration value: exit 1 (the contract's "bad config") when it comes from the
 * environment, `.env` or `config.json`; exit 2 when the user typed it as a flag or argument.
 */
export class ConfigError extends XtalkError {
  constructor(message: string, hint?: string, exitCode: ExitCodeValue = ExitCode.Error) {
    super(message, { exitCode, hint });
  }
}

/** No stored session for the selected account: exit 4. */
export class NotLoggedInError extends XtalkError {
  constructor(message = 'You are not logged in.', hint = 'Run `xtalk login` to sign in.') {
    super(message, { exitCode: ExitCode.AuthRequired, hint });
  }
}

/** The session exists but the provider no longer accepts it: exit 4. */
export class SessionExpiredError extends XtalkError {
  constructor(message = 'Your session has expired.', opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.AuthRequired, hint: opts.hint ?? 'Run `xtalk login` to sign in again.', cause: opts.cause });
  }
}

/** The provider answered with an OAuth error, or an ID token failed validation: exit 1. */
export class ProviderError extends XtalkError {
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  constructor(message: string, opts: { error?: string; errorDescription?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.Error, hint: opts.hint, cause: opts.cause });
    this.error = opts.error;
    this.errorDescription = opts.errorDescription;
  }
}

/** The provider could not be reached or timed out: exit 1. */
export class NetworkError extends XtalkError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.Error, hint: opts.hint ?? 'Check the network connection and the issuer URL.', cause: opts.cause });
  }
}

/** The OS keychain could not be used where it was required: exit 1. */
export class KeychainError extends XtalkError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, {
      exitCode: ExitCode.Error,
      hint: opts.hint ?? 'Unlock or start the keychain, or set XTALK_CREDENTIAL_STORE=file to keep the key in a 0600 file.',
      cause: opts.cause,
    });
  }
}

/** The local store is unusable (corrupt, foreign or newer database): exit 1. */
export class StoreError extends XtalkError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.Error, hint: opts.hint, cause: opts.cause });
  }
}

/** Logout could not revoke every token; nothing was deleted: exit 5. */
export class RevocationFailedError extends XtalkError {
  constructor(message: string, hint = 'Retry later, or run `xtalk logout --force` to delete the tokens locally anyway.') {
    super(message, { exitCode: ExitCode.RevocationFailed, hint });
  }
}

/** Ctrl-C or SIGTERM: exit 130. */
export class CancelledError extends XtalkError {
  constructor(message = 'Cancelled.') {
    super(message, { exitCode: ExitCode.Interrupted });
  }
}

export function isXtalkError(e: unknown): e is XtalkError {
  return e instanceof XtalkError;
}
