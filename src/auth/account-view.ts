import type { AccountRecord, StoredAccessToken } from '../core/session-records.js';
import type { CredentialStoreKind } from '../core/oauth-terms.js';

/** The account object of the CLI contract (`whoami --json`, `login --json`, `status --json`). */
export interface AccountJson {
  /** The provider the account signed in at (its issuer identifier, a URL). */
  issuer: string;
  /** The account's subject identifier at that provider: stable, unique per issuer. */
  sub: string;
  /** The `preferred_username` claim, if the provider gave one. */
  username: string | null;
  /** The `email` claim, if the provider gave one. */
  email: string | null;
  /** Every claim of the ID token and userinfo about the person, as the provider sent them. */
  claims: Record<string, unknown>;
  /** True for the account calls use when they name none. */
  current: boolean;
  /** When the stored access token expires (ISO 8601, UTC); null when none is stored. */
  access_token_expires_at: string | null;
  /** Where the key that encrypts the stored tokens is kept: the OS keychain or a key file; null before the first login. */
  credential_store: CredentialStoreKind | null;
}

export function toAccountJson(
  account: AccountRecord,
  accessTokenExpiresAt: number | undefined,
  credentialStore: CredentialStoreKind | null,
): AccountJson {
  return {
    issuer: account.issuer,
    sub: account.sub,
    username: account.username,
    email: account.email,
    claims: account.claims,
    current: account.current,
    access_token_expires_at: accessTokenExpiresAt === undefined ? null : new Date(accessTokenExpiresAt).toISOString(),
    credential_store: credentialStore,
  };
}

/** The name to show a person: username, else email, else sub. */
export function displayName(account: Pick<AccountRecord, 'username' | 'email' | 'sub'>): string {
  return account.username ?? account.email ?? account.sub;
}

/** The token object of the CLI contract (`token --json`, `refresh --json`). */
export interface TokenJson {
  /** The access token itself, to send as `Authorization: Bearer <access_token>`. A secret. */
  access_token: string;
  /** The token type the provider named, normally `Bearer`. */
  token_type: string;
  /** When the access token expires (ISO 8601, UTC). */
  expires_at: string;
  /** The scopes granted, space-separated; null when the provider said none and none was asked for. */
  scope: string | null;
}

export function toTokenJson(token: StoredAccessToken): TokenJson {
  return {
    access_token: token.accessToken,
    token_type: token.tokenType,
    expires_at: new Date(token.expiresAt).toISOString(),
    scope: token.scope,
  };
}

/** ID-token fields that only served that one response's validation: not worth keeping or showing. */
const ONE_TIME_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'];

/** The claims worth storing about a person: everything but the one-time validation fields. */
export function personClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([k]) => !ONE_TIME_CLAIMS.includes(k)));
}
