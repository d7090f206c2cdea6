/**
 * Words the use cases and the adapters share: the default scopes, how a client authenticates, the
 * shape of a token response and where the data key lives. Plain data, no imports: the provider client, the store and
 * the configuration all read them from the core without importing each other.
 */

export const DEFAULT_SCOPE = 'openid profile email offline_access';

export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
/** The methods that send a client secret: the two a client may detect between. */
export type SecretAuthMethod = Exclude<TokenAuthMethod, 'none'>;
export const TOKEN_AUTH_METHODS: readonly TokenAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

/** Where the data key that encrypts every token column lives. */
export type CredentialStoreKind = 'keychain' | 'file';
/** What the user asked for: `auto` tries the keychain and falls back to the file with a warning. */
export type CredentialStoreMode = 'auto' | CredentialStoreKind;

/** Tokens from one token-endpoint response, in plaintext (only ever held in memory). */
export interface TokenGrant {
  accessToken: string;
  tokenType: string;
  scope: string | null;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Present only when the provider issued a (new) refresh token. */
  refreshToken?: string | null;
  /** The raw ID token of the response, kept (encrypted) as the hint for RP-initiated logout. */
  idToken?: string | null;
}
