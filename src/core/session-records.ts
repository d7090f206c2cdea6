/**
 * The session records the use cases and the ports speak in: an account, who signed in, the stored
 * tokens and a remembered refresh failure. The store keeps them in SQLite; its row shapes
 * stay there.
 */

/** A stored `user` row, decoded. */
export interface AccountRecord {
  id: number;
  issuer: string;
  sub: string;
  username: string | null;
  email: string | null;
  claims: Record<string, unknown>;
  /** The client the session was obtained with, needed to refresh it later. */
  clientId: string | null;
  /** Where logout revokes this session's tokens, decided at login; null when none was known then. */
  revocationEndpoint: string | null;
  createdAt: string;
  updatedAt: string;
  current: boolean;
}

/** Who signed in, as taken from the validated ID token (completed by userinfo). */
export interface SessionIdentity {
  issuer: string;
  sub: string;
  username: string | null;
  email: string | null;
  claims: Record<string, unknown>;
  clientId: string;
  /** The revocation endpoint the provider client used at sign-in (discovery's, else the checked configured one). */
  revocationEndpoint?: string | null;
}

/** A decrypted access-token row. */
export interface StoredAccessToken {
  id: number;
  userId: number;
  refreshTokenId: number | null;
  accessToken: string;
  tokenType: string;
  scope: string | null;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** Why a refresh failed, kept for the processes that waited for it: enough to report the same error. */
export interface RefreshFailure {
  /** Epoch milliseconds. */
  at: number;
  /** The XtalkError subclass, e.g. `NetworkError`. */
  name: string;
  message: string;
  /** The error's code and facts, from which the reader's edge words the hint (a record from an older xtalk has neither). */
  code?: string;
  facts?: Readonly<Record<string, string | number | boolean | undefined>>;
  exitCode: number;
}

/** A decrypted refresh-token row. */
export interface StoredRefreshToken {
  id: number;
  userId: number;
  refreshToken: string;
  updatedAt: string;
}
