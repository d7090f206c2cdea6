import { StoreError } from '../errors.js';
import { decrypt, encrypt, UndecryptableTokenError } from './crypto.js';
import type { DataKey } from './data-key.js';
import { guardSqlite, withImmediateLock, type Db, type Statement } from './db.js';
import type {
  AccountRecord,
  CredentialStoreKind,
  RefreshFailure,
  SessionIdentity,
  StoredAccessToken,
  StoredRefreshToken,
  TokenGrant,
} from './types.js';

interface UserRow {
  id: number;
  issuer: string;
  sub: string;
  username: string | null;
  email: string | null;
  claims: string;
  client_id: string | null;
  revocation_endpoint: string | null;
  created_at: string;
  updated_at: string;
}

interface AccessTokenRow {
  id: number;
  user_id: number;
  refresh_token_id: number | null;
  token: string;
  token_type: string;
  scope: string | null;
  expires_at: number;
  created_at: number;
}

interface RefreshTokenRow {
  id: number;
  user_id: number;
  token: string;
  updated_at: string;
}

const refreshFailureKey = (userId: number) => `refresh_failure:${userId}`;

/** AAD of a token column: binds each ciphertext to its table and user. */
const aad = (table: 'access_token' | 'refresh_token' | 'id_token', userId: number) => `${table}:${userId}`;

/**
 * Stored accounts (`user`) and their encrypted tokens (`refresh_token`, `access_token`).
 * Reads that need no secret (accounts, expiry) never resolve the data key; only methods returning
 * a token, and {@link AccountStore.saveLogin}, do.
 */
export class AccountStore {
  readonly #db: Db;
  readonly #dbPath: string;
  readonly #dataKey: DataKey;
  readonly #statements = new Map<string, Statement>();
  readonly #faultPoint: (name: string) => void;
  readonly #warn: (message: string) => void;

  constructor(db: Db, dbPath: string, dataKey: DataKey, faultPoint: (name: string) => void = () => {}, warn: (message: string) => void = () => {}) {
    this.#db = db;
    this.#dbPath = dbPath;
    this.#dataKey = dataKey;
    this.#faultPoint = faultPoint;
    this.#warn = warn;
  }

  /** @internal The connection, for store-level use cases that lock it across an await. */
  get db(): Db {
    return this.#db;
  }

  /** @internal */
  get dbPath(): string {
    return this.#dbPath;
  }

  /**
   * Records a completed sign-in in one transaction: upserts the user by (issuer, sub), replaces its
   * refresh token in place when the grant carries one, adds the access token, prunes this user's
   * expired access tokens and makes the user current. `now` is epoch milliseconds.
   */
  async saveLogin(identity: SessionIdentity, grant: TokenGrant, now: number): Promise<AccountRecord> {
    const key = await this.#dataKey.forWriting();
    const iso = new Date(now).toISOString();
    const userId = this.#guard(() =>
      this.#db
        .transaction(() => {
          const id = this.#stmt(
            `INSERT INTO user (issuer, sub, username, email, claims, client_id, revocation_endpoint, created_at, updated_at)
             VALUES (@issuer, @sub, @username, @email, @claims, @clientId, @revocationEndpoint, @iso, @iso)
             ON CONFLICT (issuer, sub) DO UPDATE SET username = excluded.username, email = excluded.email,
               claims = excluded.claims, client_id = excluded.client_id, revocation_endpoint = excluded.revocation_endpoint,
               updated_at = excluded.updated_at
             RETURNING id`,
          )
            .pluck()
            .get({
              issuer: identity.issuer,
              sub: identity.sub,
              username: identity.username,
              email: identity.email,
              claims: JSON.stringify(identity.claims),
              clientId: identity.clientId,
              revocationEndpoint: identity.revocationEndpoint ?? null,
              iso,
            }) as number;
          // Rows of an earlier session that this key cannot open would block its logout for good.
          const dropped = this.#deleteUndecryptable(id, key);
          if (dropped > 0) this.#warn(`Removed ${dropped} stored token(s) of this account that could not be decrypted (their data key was replaced); they can no longer be used or revoked.`);
          this.#writeGrant(id, grant, key, now);
          this.#setCurrent(id);
          this.#faultPoint('login-in-transaction');
          return id;
        })
        .immediate(),
    );
    return this.getAccount(userId)!;
  }

  /**
   * Holds the database write lock (`BEGIN IMMEDIATE`) across `fn`, awaits included: the
   * single-flight refresh. The OS drops the lock if the process dies, so a killed holder never
   * wedges the others; readers of a valid token never wait for it (WAL).
   */
  withWriteLock<T>(fn: () => Promise<T>): Promise<T> {
    return withImmediateLock(this.#db, this.#dbPath, fn);
  }

  /**
   * Records a refresh response: a new access token linked to the user's refresh-token row, whose
   * secret is replaced in place when the provider rotated it, and the identity claims of a new ID
   * token — all in one transaction (a savepoint when called under {@link withWriteLock}).
   */
  async saveRefresh(userId: number, grant: TokenGrant, idClaims: Record<string, unknown> | undefined, now: number): Promise<StoredAccessToken> {
    const key = await this.#dataKey.forWriting();
    const account = this.getAccount(userId);
    if (!account) throw new StoreError(`account ${userId} disappeared during the refresh`, { hint: 'Run `xtalk login`.' });
    this.#guard(() =>
      this.#db
        .transaction(() => {
          if (idClaims) {
            const claims = { ...account.claims, ...idClaims };
            this.#stmt('UPDATE user SET username = ?, email = ?, claims = ?, updated_at = ? WHERE id = ?').run(
              typeof claims.preferred_username === 'string' ? claims.preferred_username : account.username,
              typeof claims.email === 'string' ? claims.email : account.email,
              JSON.stringify(claims),
              new Date(now).toISOString(),
              userId,
            );
          }
          this.#writeGrant(userId, grant, key, now);
          this.#stmt('DELETE FROM meta WHERE key = ?').run(refreshFailureKey(userId));
          this.#faultPoint('refresh-in-transaction');
        })
        .immediate(),
    );
    return (await this.latestAccessToken(userId))!;
  }

  /**
   * Records why the refresh of `userId` failed; call under {@link withWriteLock} so the processes
   * waiting for the lock read it ({@link refreshFailureSince}) instead of repeating the attempt.
   */
  recordRefreshFailure(userId: number, failure: RefreshFailure): void {
    this.#guard(() =>
      this.#stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(
        refreshFailureKey(userId),
        JSON.stringify(failure),
      ),
    );
  }

  /** The refresh failure recorded for `userId` at or after `since` (epoch ms), if any. */
  refreshFailureSince(userId: number, since: number): RefreshFailure | undefined {
    const value = this.#guard(() => this.#stmt('SELECT value FROM meta WHERE key = ?').pluck().get(refreshFailureKey(userId))) as string | undefined;
    if (value === undefined) return undefined;
    try {
      const failure = JSON.parse(value) as RefreshFailure;
      return typeof failure.at === 'number' && failure.at >= since && typeof failure.message === 'string' ? failure : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every stored account, oldest first, with `current` set on the current one. */
  listAccounts(): AccountRecord[] {
    const currentId = this.#currentId();
    const rows = this.#guard(() => this.#stmt('SELECT * FROM user ORDER BY id').all() as UserRow[]);
    return rows.map((row) => toAccount(row, currentId));
  }

  /** The current account, or undefined when nobody is signed in (or the current one was deleted). */
  currentAccount(): AccountRecord | undefined {
    const row = this.#guard(
      () =>
        this.#stmt(
          "SELECT user.* FROM meta JOIN user ON user.id = CAST(meta.value AS INTEGER) WHERE meta.key = 'current_user_id'",
        ).get() as UserRow | undefined,
    );
    return row && toAccount(row, row.id);
  }

  getAccount(userId: number): AccountRecord | undefined {
    const row = this.#guard(() => this.#stmt('SELECT * FROM user WHERE id = ?').get(userId) as UserRow | undefined);
    return row && toAccount(row, this.#currentId());
  }

  /** Accounts whose sub, username or email equals `selector`, across issuers (several may match). */
  findAccounts(selector: string): AccountRecord[] {
    const currentId = this.#currentId();
    const rows = this.#guard(
      () => this.#stmt('SELECT * FROM user WHERE sub = @s OR username = @s OR email = @s ORDER BY id').all({ s: selector }) as UserRow[],
    );
    return rows.map((row) => toAccount(row, currentId));
  }

  /** Makes `userId` the current account; `null` leaves nobody current. */
  setCurrent(userId: number | null): void {
    this.#guard(() => {
      if (userId !== null && !this.#stmt('SELECT 1 FROM user WHERE id = ?').get(userId)) {
        throw new StoreError(`no stored account with id ${userId}`, { hint: 'Run `xtalk status` to list the stored accounts.' });
      }
      this.#setCurrent(userId);
    });
  }

  /** Deletes an account and, by cascade, its tokens; clears `current` when it was the current one. */
  deleteAccount(userId: number): boolean {
    return this.#guard(() =>
      this.#db.transaction(() => {
        if (this.#currentId() === userId) this.#setCurrent(null);
        return this.#stmt('DELETE FROM user WHERE id = ?').run(userId).changes > 0;
      }).immediate(),
    );
  }

  /**
   * The newest access token (possibly expired), decrypted. Newest by insertion, not by expiry: the
   * token just received is the one to use even if it expires sooner than an older one.
   */
  async latestAccessToken(userId: number): Promise<StoredAccessToken | undefined> {
    const row = this.#guard(
      () =>
        this.#stmt('SELECT * FROM access_token WHERE user_id = ? ORDER BY id DESC LIMIT 1').get(userId) as
          | AccessTokenRow
          | undefined,
    );
    if (!row) return undefined;
    return decodeAccessToken(row, await this.#dataKey.forReading());
  }

  /** Every access token of the user that has not expired at `now`, decrypted, oldest first. */
  async unexpiredAccessTokens(userId: number, now: number): Promise<StoredAccessToken[]> {
    const rows = this.#guard(
      () => this.#stmt('SELECT * FROM access_token WHERE user_id = ? AND expires_at > ? ORDER BY id').all(userId, now) as AccessTokenRow[],
    );
    if (rows.length === 0) return [];
    const key = await this.#dataKey.forReading();
    return rows.map((row) => decodeAccessToken(row, key));
  }

  /**
   * The user's refresh token and unexpired access tokens, each decrypted on its own: rows the data
   * key cannot open are counted in `unreadable` instead of failing the whole read (logout --force).
   */
  async sessionTokens(userId: number, now: number): Promise<{ refresh: StoredRefreshToken | undefined; access: StoredAccessToken[]; unreadable: number }> {
    const refreshRow = this.#guard(
      () => this.#stmt('SELECT id, user_id, token, updated_at FROM refresh_token WHERE user_id = ?').get(userId) as RefreshTokenRow | undefined,
    );
    const accessRows = this.#guard(
      () => this.#stmt('SELECT * FROM access_token WHERE user_id = ? AND expires_at > ? ORDER BY id').all(userId, now) as AccessTokenRow[],
    );
    if (!refreshRow && accessRows.length === 0) return { refresh: undefined, access: [], unreadable: 0 };
    const key = await this.#dataKey.forReading();
    let unreadable = 0;
    const attempt = <T>(fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (e) {
        if (!(e instanceof UndecryptableTokenError)) throw e;
        unreadable++;
        return undefined;
      }
    };
    const refresh = refreshRow
      ? attempt(() => ({ id: refreshRow.id, userId: refreshRow.user_id, refreshToken: decrypt(key, refreshRow.token, aad('refresh_token', refreshRow.user_id)), updatedAt: refreshRow.updated_at }))
      : undefined;
    const access = accessRows.map((row) => attempt(() => decodeAccessToken(row, key))).filter((t): t is StoredAccessToken => t !== undefined);
    return { refresh, access, unreadable };
  }

  /** Whether the user has a refresh token, i.e. the session can renew itself; reads no secret. */
  hasRefreshToken(userId: number): boolean {
    return this.#guard(() => this.#stmt('SELECT EXISTS (SELECT 1 FROM refresh_token WHERE user_id = ?)').pluck().get(userId) === 1);
  }

  /** Whether the user holds any token, i.e. is signed in (logout keeps the `user` row). */
  hasSession(userId: number): boolean {
    return this.#guard(
      () =>
        this.#stmt(
          'SELECT EXISTS (SELECT 1 FROM refresh_token WHERE user_id = ?) OR EXISTS (SELECT 1 FROM access_token WHERE user_id = ?)',
        )
          .pluck()
          .get(userId, userId) === 1,
    );
  }

  /**
   * Forgets a user's tokens (rows and ciphertext) in one transaction, keeping the `user` row so a
   * later login of the same sub reuses it. When the user was current, `nextCurrent` (or nobody)
   * becomes current in the same transaction.
   */
  deleteSession(userId: number, nextCurrent: number | null): void {
    this.#guard(() =>
      this.#db
        .transaction(() => {
          this.#stmt('DELETE FROM access_token WHERE user_id = ?').run(userId);
          this.#stmt('DELETE FROM refresh_token WHERE user_id = ?').run(userId);
          this.#stmt('UPDATE user SET id_token = NULL WHERE id = ?').run(userId);
          if (this.#currentId() === userId) this.#setCurrent(nextCurrent);
          this.#faultPoint('logout-in-transaction');
        })
        .immediate(),
    );
  }

  /** Epoch ms when the newest access token expires; reads no secret, so it never needs the data key. */
  latestAccessTokenExpiry(userId: number): number | undefined {
    const value = this.#guard(() => this.#stmt('SELECT expires_at FROM access_token WHERE user_id = ? ORDER BY id DESC LIMIT 1').pluck().get(userId));
    return typeof value === 'number' ? value : undefined;
  }

  /** The user's refresh token, decrypted, or undefined when the provider never issued one. */
  async refreshToken(userId: number): Promise<StoredRefreshToken | undefined> {
    const row = this.#guard(
      () => this.#stmt('SELECT id, user_id, token, updated_at FROM refresh_token WHERE user_id = ?').get(userId) as RefreshTokenRow | undefined,
    );
    if (!row) return undefined;
    const key = await this.#dataKey.forReading();
    return {
      id: row.id,
      userId: row.user_id,
      refreshToken: decrypt(key, row.token, aad('refresh_token', row.user_id)),
      updatedAt: row.updated_at,
    };
  }

  /** The latest ID token the provider issued to the user (the logout `id_token_hint`), decrypted. */
  async idToken(userId: number): Promise<string | undefined> {
    const value = this.#guard(() => this.#stmt('SELECT id_token FROM user WHERE id = ?').pluck().get(userId)) as string | null | undefined;
    if (!value) return undefined;
    return decrypt(await this.#dataKey.forReading(), value, aad('id_token', userId));
  }

  /** Where the data key lives, as recorded when it was created; null before the first login. */
  credentialStore(): CredentialStoreKind | null {
    const value = this.#guard(() => this.#stmt("SELECT value FROM meta WHERE key = 'credential_store'").pluck().get());
    return value === 'keychain' || value === 'file' ? value : null;
  }

  /**
   * The scope a login at `issuer` settled on after the provider refused the default one, so the next
   * login skips the failed round trip. Kept in `meta` (key `scope:<issuer>`): it is learned, not a
   * user setting, and belongs with the sessions it was learned for.
   */
  learnedScope(issuer: string): string | undefined {
    const value = this.#guard(() => this.#stmt('SELECT value FROM meta WHERE key = ?').pluck().get(`scope:${issuer}`));
    return typeof value === 'string' ? value : undefined;
  }

  rememberScope(issuer: string, scope: string): void {
    this.#guard(() =>
      this.#stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(`scope:${issuer}`, scope),
    );
  }

  /** Removes the data key (keychain entry or key file); call once no account holds tokens. */
  deleteDataKey(): Promise<void> {
    return this.#dataKey.delete();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /** Inside a write transaction: deletes the user's token rows that `key` cannot decrypt; returns how many. */
  #deleteUndecryptable(userId: number, key: Buffer): number {
    const opens = (table: 'access_token' | 'refresh_token', token: string): boolean => {
      try {
        decrypt(key, token, aad(table, userId));
        return true;
      } catch (e) {
        if (e instanceof UndecryptableTokenError) return false;
        throw e;
      }
    };
    let dropped = 0;
    for (const table of ['access_token', 'refresh_token'] as const) {
      const rows = this.#stmt(`SELECT id, token FROM ${table} WHERE user_id = ?`).all(userId) as { id: number; token: string }[];
      for (const row of rows.filter((r) => !opens(table, r.token))) {
        dropped += this.#stmt(`DELETE FROM ${table} WHERE id = ?`).run(row.id).changes;
      }
    }
    return dropped;
  }

  /** Must run inside a write transaction; `key` must come from the data key's forWriting(). */
  #writeGrant(userId: number, grant: TokenGrant, key: Buffer, now: number): void {
    if (grant.idToken) this.#stmt('UPDATE user SET id_token = ? WHERE id = ?').run(encrypt(key, grant.idToken, aad('id_token', userId)), userId);
    let refreshTokenId: number | null;
    if (grant.refreshToken) {
      const iso = new Date(now).toISOString();
      // Upsert keeps the row id, so access tokens already linked to it stay linked.
      refreshTokenId = this.#stmt(
        `INSERT INTO refresh_token (user_id, token, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at
         RETURNING id`,
      )
        .pluck()
        .get(userId, encrypt(key, grant.refreshToken, aad('refresh_token', userId)), iso, iso) as number;
    } else {
      refreshTokenId = (this.#stmt('SELECT id FROM refresh_token WHERE user_id = ?').pluck().get(userId) as number | undefined) ?? null;
    }
    // Pruned before the insert so a grant that is already expired is still stored once.
    this.#stmt('DELETE FROM access_token WHERE user_id = ? AND expires_at <= ?').run(userId, now);
    this.#stmt(
      `INSERT INTO access_token (user_id, refresh_token_id, token, token_type, scope, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(userId, refreshTokenId, encrypt(key, grant.accessToken, aad('access_token', userId)), grant.tokenType, grant.scope, grant.expiresAt, now);
  }

  #setCurrent(userId: number | null): void {
    if (userId === null) this.#stmt("DELETE FROM meta WHERE key = 'current_user_id'").run();
    else {
      this.#stmt("INSERT INTO meta (key, value) VALUES ('current_user_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        String(userId),
      );
    }
  }

  #currentId(): number | undefined {
    const value = this.#guard(() => this.#stmt("SELECT value FROM meta WHERE key = 'current_user_id'").pluck().get());
    return value === undefined ? undefined : Number(value);
  }

  #stmt(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #guard<T>(fn: () => T): T {
    return guardSqlite(this.#dbPath, fn);
  }
}

function decodeAccessToken(row: AccessTokenRow, key: Buffer): StoredAccessToken {
  return {
    id: row.id,
    userId: row.user_id,
    refreshTokenId: row.refresh_token_id,
    accessToken: decrypt(key, row.token, aad('access_token', row.user_id)),
    tokenType: row.token_type,
    scope: row.scope,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
  };
}

function toAccount(row: UserRow, currentId: number | undefined): AccountRecord {
  return {
    id: row.id,
    issuer: row.issuer,
    sub: row.sub,
    username: row.username,
    email: row.email,
    claims: JSON.parse(row.claims) as Record<string, unknown>,
    clientId: row.client_id,
    revocationEndpoint: row.revocation_endpoint ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    current: row.id === currentId,
  };
}
