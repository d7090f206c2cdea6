/** What every Node API call accepts. */
export interface SessionOptions {
  /** A stored account by username, email or sub; default the current one (as `xtalk --account`). */
  account?: string;
  /**
   * The environment settings are read from (`XTALK_HOME`, `XTALK_CREDENTIAL_STORE`, …); default
   * `process.env`. `.env` is read from `cwd` as the CLI reads it from its working folder.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** The folder whose `.env` is read, as the CLI reads its working folder's; default `process.cwd()`. */
  cwd?: string;
}

/** What the calls that hand out a token accept (getAccessToken, getToken, createFetch). */
export interface TokenRequest extends SessionOptions {
  /**
   * Seconds the token must stay valid, else it is refreshed first (as `xtalk token --min-ttl`);
   * default 60, at most half the token's lifetime.
   */
  minTtl?: number;
  /**
   * Cancels the call: while it waits for another process's refresh, or before this one sends its
   * refresh grant, an abort rejects it with a `CancelledError` (code CANCELLED). A grant already
   * sent is still awaited and stored, so the rotated refresh token is not lost.
   */
  signal?: AbortSignal;
}
