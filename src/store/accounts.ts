import { StoreError } from '../errors.js';
import { currentUserId, pointCurrentAt } from './db/current-account.js';
import type { DataKey } from './keys/data-key.js';
import { tryImmediateLock } from './db/write-lock.js';
import * as meta from './db/meta-records.js';
import * as writes from './db/session-writes.js';
import type { Sql } from './db/sql.js';
import * as tokens from './db/token-tables.js';
import type { AccountRecord, RefreshFailure, SessionIdentity, StoredAccessToken, StoredRefreshToken } from '../core/session-records.js';
import type { CredentialStoreKind, SecretAuthMethod, TokenGrant } from '../core/oauth-terms.js';
import * as users from './db/users.js';

/**
 * Stored accounts and their encrypted tokens, as the use cases see them: each method one
 * transaction or one read over the tables (db/: users.ts, token-tables.ts, current-account.ts,
 * meta-records.ts; the writes that span them in session-writes.ts). Reads that need no secret
 * (accounts, expiry) never resolve the data key; only methods returning a token, and
 * {@link AccountStore.saveLogin}, do.
 */
export class AccountStore {
  readonly #sql: Sql;
  readonly #dataKey: DataKey;
  readonly #faultPoint: (name: string) => void;
  readonly #warn: (message: string) => void;

  /** `sql` starts read-only when the store was opened for reading; the first write switches it (see Sql). */
  constructor(sql: Sql, dataKey: DataKey, faultPoint: (name: string) => void = () => {}, warn: (message: string) => void = () => {}) {
    this.#sql = sql;
    this.#dataKey = dataKey;
    this.#faultPoint = faultPoint;
    this.#warn = warn;
  }

  /** @internal */
  get dbPath(): string {
    return this.#sql.dbPath;
  }

  /**
   * Records a completed sign-in in one transaction: upserts the user by (issuer, sub), replaces its
   * refresh token in place when the grant carries one, adds the access token, prunes this user's
   * expired access tokens and makes the user current. `now` is epoch milliseconds.
   */
  async saveLogin(identity: SessionIdentity, grant: TokenGrant, now: number): Promise<AccountRecord> {
    const key = await this.#dataKey.forWriting();
    const userId = writes.writeSignIn(this.#sql, identity, grant, key, now, this.#faultPoint, this.#warn);
    return this.getAccount(userId)!;
  }

  /**
   * Holds the database write lock (`BEGIN IMMEDIATE`) across `fn`, awaits included, or resolves
   * with `{ locked: false }` at once when another process holds it: the single-flight refresh. The
   * OS drops the lock if the process dies, so a killed holder never wedges the others; readers of
   * a valid token never wait for it (WAL).
   */
  tryWriteLock<T>(fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
    return tryImmediateLock(this.#sql.db, this.#sql.dbPath, fn);
  }

  /**
   * Everything a refresh answer's write needs that can fail here, done before the grant is sent:
   * the data key for writing (the keychain read, with its time limit) and room on the disk.
   */
  async prepareRefreshWrite(userId: number): Promise<void> {
    const key = await this.#dataKey.forWriting();
    writes.rehearseRefreshWrite(this.#sql, userId, key);
  }

  /**
   * Records a refresh response: a new access token linked to the user's refresh-token row, whose
   * secret is replaced in place when the provider rotated it, and the identity claims of a new ID
   * token — all in one transaction (a savepoint when called under {@link tryWriteLock}, committed
   * when the lock is released, right after).
   */
  async saveRefresh(
    userId: number,
    grant: TokenGrant,
    idClaims: Record<string, unknown> | undefined,
    now: number,
  ): Promise<StoredAccessToken> {
    const key = await this.#dataKey.forWriting();
    const account = this.getAccount(userId);
    if (!account) throw new StoreError('ACCOUNT_GONE', `account ${userId} disappeared during the refresh`);
    writes.writeRefresh(this.#sql, account, grant, idClaims, key, now, this.#faultPoint);
    return (await this.latestAccessToken(userId))!;
  }

  /**
   * Commits a refresh answer's tokens (no ID token, no identity) the moment it arrives, before any
   * check of it runs: a process killed after this keeps the rotated refresh token. Synchronous, so
   * nothing else runs between the answer and the commit; needs the data key for writing in hand
   * ({@link prepareRefreshWrite}). Under {@link tryWriteLock} it commits the lock's transaction
   * (releasing the lock: waiters find the new token). Returns the access token's row id (0: none).
   */
  commitRefreshAnswer(userId: number, grant: TokenGrant, now: number): number {
    const key = this.#dataKey.writingKeyInHand();
    if (!key) throw new StoreError('INTERNAL', 'internal error: the data key for writing is not in hand');
    return writes.commitRefreshAnswer(this.#sql, userId, grant, key, now, this.#faultPoint);
  }

  /**
   * After {@link commitRefreshAnswer}: the answer's ID token passed its checks, so it and the
   * identity claims it carries are stored too. Returns the newest access token.
   */
  async confirmRefresh(
    userId: number,
    idToken: string | null,
    idClaims: Record<string, unknown> | undefined,
    now: number,
  ): Promise<StoredAccessToken> {
    const key = await this.#dataKey.forWriting();
    const account = this.getAccount(userId);
    if (!account) throw new StoreError('ACCOUNT_GONE', `account ${userId} disappeared during the refresh`);
    writes.writeConfirmedRefresh(this.#sql, account, idToken, idClaims, key, now);
    return (await this.latestAccessToken(userId))!;
  }

  /** After {@link commitRefreshAnswer}: the answer failed a check, so its access token is not used. */
  withdrawAccessToken(userId: number, rowId: number): void {
    const sql = this.#sql;
    sql.guard(() => tokens.deleteAccessToken(sql, userId, rowId));
  }

  /**
   * Keeps a rotated refresh token of an answer whose other parts are not used (a check after the
   * answer failed): the session stays renewable; the access token and ID token are dropped.
   */
  async saveRotatedRefreshToken(userId: number, refreshToken: string, now: number): Promise<void> {
    const key = await this.#dataKey.forWriting();
    writes.writeRotatedRefreshToken(this.#sql, userId, refreshToken, key, now);
  }

  /**
   * Records why the refresh of `userId` failed; call under {@link tryWriteLock} so the processes
   * waiting for the lock read it ({@link refreshFailureSince}) instead of repeating the attempt.
   */
  recordRefreshFailure(userId: number, failure: RefreshFailure): void {
    meta.recordRefreshFailure(this.#sql, userId, failure);
  }

  /** The refresh failure recorded for `userId` at or after `since` (epoch ms), if any. */
  refreshFailureSince(userId: number, since: number): RefreshFailure | undefined {
    return meta.refreshFailureSince(this.#sql, userId, since);
  }

  /** Every stored account, oldest first, with `current` set on the current one. */
  listAccounts(): AccountRecord[] {
    return users.allUsers(this.#sql, currentUserId(this.#sql));
  }

  /** The current account, or undefined when nobody is signed in (or the current one was deleted). */
  currentAccount(): AccountRecord | undefined {
    return users.currentUser(this.#sql);
  }

  getAccount(userId: number): AccountRecord | undefined {
    return users.userById(this.#sql, userId, currentUserId(this.#sql));
  }

  /** Accounts whose sub, username or email equals `selector`, across issuers (several may match). */
  findAccounts(selector: string): AccountRecord[] {
    return users.usersMatching(this.#sql, selector, currentUserId(this.#sql));
  }

  /** Makes `userId` the current account; `null` leaves nobody current. */
  setCurrent(userId: number | null): void {
    const sql = this.#sql;
    sql.guard(() => {
      if (userId !== null && !users.userExists(sql, userId))
        throw new StoreError('ACCOUNT_NOT_FOUND', `no stored account with id ${userId}`);
      pointCurrentAt(sql, userId);
    });
  }

  /** Deletes an account and, by cascade, its tokens; clears `current` when it was the current one. */
  deleteAccount(userId: number): boolean {
    const sql = this.#sql;
    return sql.guard(() =>
      sql.db
        .transaction(() => {
          if (currentUserId(sql) === userId) pointCurrentAt(sql, null);
          return users.deleteUser(sql, userId);
        })
        .immediate(),
    );
  }

  /**
   * The newest access token (possibly expired), decrypted. Newest by insertion, not by expiry: the
   * token just received is the one to use even if it expires sooner than an older one.
   */
  async latestAccessToken(userId: number): Promise<StoredAccessToken | undefined> {
    const row = tokens.latestAccessRow(this.#sql, userId);
    if (!row) return undefined;
    return tokens.decodeAccessToken(row, await this.#dataKey.forReading());
  }

  /** Every access token of the user that has not expired at `now`, decrypted, oldest first. */
  async unexpiredAccessTokens(userId: number, now: number): Promise<StoredAccessToken[]> {
    const rows = tokens.unexpiredAccessRows(this.#sql, userId, now);
    if (rows.length === 0) return [];
    const key = await this.#dataKey.forReading();
    return rows.map((row) => tokens.decodeAccessToken(row, key));
  }

  /**
   * The user's refresh token and unexpired access tokens, each decrypted on its own: rows the data
   * key cannot open are counted in `unreadable` instead of failing the whole read (logout --force).
   */
  async sessionTokens(
    userId: number,
    now: number,
  ): Promise<{ refresh: StoredRefreshToken | undefined; access: StoredAccessToken[]; unreadable: number }> {
    const refreshRow = tokens.refreshRow(this.#sql, userId);
    const accessRows = tokens.unexpiredAccessRows(this.#sql, userId, now);
    if (!refreshRow && accessRows.length === 0) return { refresh: undefined, access: [], unreadable: 0 };
    return tokens.decodeSession(refreshRow, accessRows, await this.#dataKey.forReading());
  }

  /** Whether the user has a refresh token, i.e. the session can renew itself; reads no secret. */
  hasRefreshToken(userId: number): boolean {
    return tokens.hasRefreshRow(this.#sql, userId);
  }

  /** Whether the user holds any token, i.e. is signed in (a profile kept by `logout --keep-profile` holds none). */
  hasSession(userId: number): boolean {
    return tokens.hasTokenRows(this.#sql, userId);
  }

  /**
   * Forgets a user's tokens (rows and ciphertext) and, unless `keepProfile`, the `user` row with
   * its name, email and claims — all in one transaction. When the user was current, `nextCurrent`
   * (or nobody) becomes current in the same transaction. A deleted profile is also pushed out of
   * the WAL (see {@link truncateWal}).
   */
  deleteSession(userId: number, nextCurrent: number | null, opts: { keepProfile?: boolean } = {}): void {
    writes.forgetSession(this.#sql, userId, nextCurrent, Boolean(opts.keepProfile), this.#faultPoint);
  }

  /**
   * Deletes every profile that holds no token (kept by `logout --keep-profile`, or left by an xtalk
   * that kept them all) in one transaction; returns how many.
   */
  deleteProfilesWithoutSession(): number {
    return writes.forgetProfilesWithoutSession(this.#sql);
  }

  /** Epoch ms when the newest access token expires; reads no secret, so it never needs the data key. */
  latestAccessTokenExpiry(userId: number): number | undefined {
    return tokens.latestAccessExpiry(this.#sql, userId);
  }

  /** The user's refresh token, decrypted, or undefined when the provider never issued one. */
  async refreshToken(userId: number): Promise<StoredRefreshToken | undefined> {
    const row = tokens.refreshRow(this.#sql, userId);
    if (!row) return undefined;
    return tokens.decodeRefreshToken(row, await this.#dataKey.forReading());
  }

  /** The latest ID token the provider issued to the user (the logout `id_token_hint`), decrypted. */
  async idToken(userId: number): Promise<string | undefined> {
    const ciphertext = tokens.idTokenCiphertext(this.#sql, userId);
    if (!ciphertext) return undefined;
    return tokens.decryptIdToken(await this.#dataKey.forReading(), ciphertext, userId);
  }

  /** Where the data key lives, as recorded when it was created; null before the first login. */
  credentialStore(): CredentialStoreKind | null {
    return meta.recordedCredentialStore(this.#sql);
  }

  /** What a login at `issuer` learned (the scope settled on after a refusal), kept in `meta` (`scope:<issuer>`), not a setting. */
  learnedScope(issuer: string): string | undefined {
    return meta.learnedScope(this.#sql, issuer);
  }

  rememberScope(issuer: string, scope: string): void {
    meta.rememberScope(this.#sql, issuer, scope);
  }

  /** The client authentication method detected for `clientId` at `issuer`, kept in `meta` like the scope. */
  learnedAuthMethod(issuer: string, clientId: string): SecretAuthMethod | undefined {
    return meta.learnedAuthMethod(this.#sql, issuer, clientId);
  }

  rememberAuthMethod(issuer: string, clientId: string, method: SecretAuthMethod): void {
    meta.rememberAuthMethod(this.#sql, issuer, clientId, method);
  }

  /** Removes the data key (keychain entry or key file); call once no account holds tokens. */
  deleteDataKey(): Promise<void> {
    return this.#dataKey.delete();
  }

  close(): void {
    this.#sql.close();
  }
}
