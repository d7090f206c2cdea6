/** What every Node API call accepts. */
export interface SessionOptions {
  /** A stored account by username, email or sub; default the current one (as `xtalk --account`). */
  account?: string;
  /**
   * The environment settings are read from (`XTALK_HOME`, `XTALK_CREDENTIAL_STORE`, …); default
   * `process.env`. `.env` is read from `cwd` as the CLI reads it from its working folder.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Default `process.cwd()`. */
  cwd?: string;
}

export interface TokenRequest extends SessionOptions {
  /**
   * Seconds the token must stay valid, else it is refreshed first (as `xtalk token --min-ttl`);
   * default 60, at most half the token's lifetime.
   */
  minTtl?: number;
}
