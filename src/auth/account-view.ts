import type { AccountRecord, StoredAccessToken } from '../core/session-records.js';
import type { CredentialStoreKind } from '../core/oauth-terms.js';

/** The account object of the CLI contract (`whoami --json`, `login --json`, `status --json`). */
export interface AccountJson {
  issuer: string;
  sub: string;
  username: string | null;
  email: string | null;
  claims: Record<string, unknown>;
  current: boolean;
  access_token_expires_at: string | null;
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
  access_token: string;
  token_type: string;
  expires_at: string;
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
