import { decrypt, encrypt, UndecryptableTokenError } from '../crypto.js';
import type { Sql } from './sql.js';
import type { StoredAccessToken, StoredRefreshToken } from '../../core/session-records.js';
import type { TokenGrant } from '../../core/oauth-terms.js';

/**
 * The token tables (`access_token`, `refresh_token`, `user.id_token`): every token column is
 * AES-GCM ciphertext bound to its table and user (the AAD), written and read here only. Functions
 * that write expect the caller's write transaction; `key` is the data key (forWriting to write).
 */

/** A row of `access_token` as SQLite returns it (the token still ciphertext). */
export interface AccessTokenRow {
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

type TokenTable = 'access_token' | 'refresh_token' | 'id_token';

/** AAD of a token column: binds each ciphertext to its table and user. */
const aad = (table: TokenTable, userId: number) => `${table}:${userId}`;

/**
 * Stores a token response: the ID token, the refresh token (replaced in place), a new access token
 * (none when the grant has none); prunes expired ones. Returns the new access token's row id, or 0.
 */
export function writeGrant(sql: Sql, userId: number, grant: TokenGrant, key: Buffer, now: number): number {
  if (grant.idToken) writeIdToken(sql, userId, grant.idToken, key);
  const refreshTokenId = grant.refreshToken
    ? replaceRefreshToken(sql, userId, grant.refreshToken, key, now)
    : ((sql.stmt('SELECT id FROM refresh_token WHERE user_id = ?').pluck().get(userId) as number | undefined) ?? null);
  // Pruned before the insert so a grant that is already expired is still stored once.
  sql.stmt('DELETE FROM access_token WHERE user_id = ? AND expires_at <= ?').run(userId, now);
  if (!grant.accessToken) return 0;
  return Number(
    sql
      .stmt(
        `INSERT INTO access_token (user_id, refresh_token_id, token, token_type, scope, expires_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        userId,
        refreshTokenId,
        encrypt(key, grant.accessToken, aad('access_token', userId)),
        grant.tokenType,
        grant.scope,
        grant.expiresAt,
        now,
      ).lastInsertRowid,
  );
}

/** Stores (or clears) the user's latest ID token. */
export function writeIdToken(sql: Sql, userId: number, idToken: string, key: Buffer): void {
  sql.stmt('UPDATE user SET id_token = ? WHERE id = ?').run(encrypt(key, idToken, aad('id_token', userId)), userId);
}

/** Deletes one access token row of the user. */
export function deleteAccessToken(sql: Sql, userId: number, rowId: number): void {
  sql.stmt('DELETE FROM access_token WHERE id = ? AND user_id = ?').run(rowId, userId);
}

/** Stores the user's refresh token, replacing the one before in place; returns the row id. */
export function replaceRefreshToken(sql: Sql, userId: number, refreshToken: string, key: Buffer, now: number): number {
  const iso = new Date(now).toISOString();
  // Upsert keeps the row id, so access tokens already linked to it stay linked.
  return sql
    .stmt(
      `INSERT INTO refresh_token (user_id, token, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at
       RETURNING id`,
    )
    .pluck()
    .get(userId, encrypt(key, refreshToken, aad('refresh_token', userId)), iso, iso) as number;
}

/** Deletes the user's token rows that `key` cannot decrypt (their data key was replaced); returns how many. */
export function deleteUndecryptable(sql: Sql, userId: number, key: Buffer): number {
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
    const rows = sql.stmt(`SELECT id, token FROM ${table} WHERE user_id = ?`).all(userId) as { id: number; token: string }[];
    for (const row of rows.filter((r) => !opens(table, r.token))) {
      dropped += sql.stmt(`DELETE FROM ${table} WHERE id = ?`).run(row.id).changes;
    }
  }
  return dropped;
}

/** Forgets the user's tokens (rows and the ID token), keeping the `user` row. */
export function deleteTokens(sql: Sql, userId: number): void {
  sql.stmt('DELETE FROM access_token WHERE user_id = ?').run(userId);
  sql.stmt('DELETE FROM refresh_token WHERE user_id = ?').run(userId);
  sql.stmt('UPDATE user SET id_token = NULL WHERE id = ?').run(userId);
}

/** The newest access-token row by insertion (possibly expired), still encrypted. */
export function latestAccessRow(sql: Sql, userId: number): AccessTokenRow | undefined {
  return sql.guard(
    () => sql.stmt('SELECT * FROM access_token WHERE user_id = ? ORDER BY id DESC LIMIT 1').get(userId) as AccessTokenRow | undefined,
  );
}

export function unexpiredAccessRows(sql: Sql, userId: number, now: number): AccessTokenRow[] {
  return sql.guard(
    () => sql.stmt('SELECT * FROM access_token WHERE user_id = ? AND expires_at > ? ORDER BY id').all(userId, now) as AccessTokenRow[],
  );
}

export function refreshRow(sql: Sql, userId: number): RefreshTokenRow | undefined {
  return sql.guard(
    () => sql.stmt('SELECT id, user_id, token, updated_at FROM refresh_token WHERE user_id = ?').get(userId) as RefreshTokenRow | undefined,
  );
}

/** Epoch ms when the newest access token expires; reads no ciphertext. */
export function latestAccessExpiry(sql: Sql, userId: number): number | undefined {
  const value = sql.guard(() =>
    sql.stmt('SELECT expires_at FROM access_token WHERE user_id = ? ORDER BY id DESC LIMIT 1').pluck().get(userId),
  );
  return typeof value === 'number' ? value : undefined;
}

export function hasRefreshRow(sql: Sql, userId: number): boolean {
  return sql.guard(() => sql.stmt('SELECT EXISTS (SELECT 1 FROM refresh_token WHERE user_id = ?)').pluck().get(userId) === 1);
}

export function hasTokenRows(sql: Sql, userId: number): boolean {
  return sql.guard(
    () =>
      sql
        .stmt('SELECT EXISTS (SELECT 1 FROM refresh_token WHERE user_id = ?) OR EXISTS (SELECT 1 FROM access_token WHERE user_id = ?)')
        .pluck()
        .get(userId, userId) === 1,
  );
}

/** The encrypted ID token of the user, when one is kept. */
export function idTokenCiphertext(sql: Sql, userId: number): string | undefined {
  const value = sql.guard(() => sql.stmt('SELECT id_token FROM user WHERE id = ?').pluck().get(userId)) as string | null | undefined;
  return value || undefined;
}

export function decryptIdToken(key: Buffer, ciphertext: string, userId: number): string {
  return decrypt(key, ciphertext, aad('id_token', userId));
}

export function decodeAccessToken(row: AccessTokenRow, key: Buffer): StoredAccessToken {
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

export function decodeRefreshToken(row: RefreshTokenRow, key: Buffer): StoredRefreshToken {
  return {
    id: row.id,
    userId: row.user_id,
    refreshToken: decrypt(key, row.token, aad('refresh_token', row.user_id)),
    updatedAt: row.updated_at,
  };
}

/**
 * A session's refresh token and access tokens, each decrypted on its own: rows the data key cannot
 * open are counted in `unreadable` instead of failing the whole read (logout --force).
 */
export function decodeSession(
  refreshRow: RefreshTokenRow | undefined,
  accessRows: readonly AccessTokenRow[],
  key: Buffer,
): { refresh: StoredRefreshToken | undefined; access: StoredAccessToken[]; unreadable: number } {
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
  const refresh = refreshRow ? attempt(() => decodeRefreshToken(refreshRow, key)) : undefined;
  const access = accessRows.map((row) => attempt(() => decodeAccessToken(row, key))).filter((t): t is StoredAccessToken => t !== undefined);
  return { refresh, access, unreadable };
}
