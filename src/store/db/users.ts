import type { Sql } from './sql.js';
import type { AccountRecord, SessionIdentity } from '../../core/session-records.js';

/** The `user` table: who signed in at which issuer, decoded into AccountRecords. */

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

/** Inside the caller's transaction: inserts the user, or updates the row of the same (issuer, sub); returns its id. */
export function upsertUser(sql: Sql, identity: SessionIdentity, iso: string): number {
  return sql
    .stmt(
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
}

/** Inside the caller's transaction: merges the claims of a refreshed ID token into the account. */
export function updateClaims(sql: Sql, account: AccountRecord, idClaims: Record<string, unknown>, now: number): void {
  const claims = { ...account.claims, ...idClaims };
  sql
    .stmt('UPDATE user SET username = ?, email = ?, claims = ?, updated_at = ? WHERE id = ?')
    .run(
      typeof claims.preferred_username === 'string' ? claims.preferred_username : account.username,
      typeof claims.email === 'string' ? claims.email : account.email,
      JSON.stringify(claims),
      new Date(now).toISOString(),
      account.id,
    );
}

export function allUsers(sql: Sql, currentId: number | undefined): AccountRecord[] {
  const rows = sql.guard(() => sql.stmt('SELECT * FROM user ORDER BY id').all() as UserRow[]);
  return rows.map((row) => toAccount(row, currentId));
}

/** The user `meta.current_user_id` points at, when that user still exists. */
export function currentUser(sql: Sql): AccountRecord | undefined {
  const row = sql.guard(
    () =>
      sql.stmt("SELECT user.* FROM meta JOIN user ON user.id = CAST(meta.value AS INTEGER) WHERE meta.key = 'current_user_id'").get() as
        | UserRow
        | undefined,
  );
  return row && toAccount(row, row.id);
}

export function userById(sql: Sql, userId: number, currentId: number | undefined): AccountRecord | undefined {
  const row = sql.guard(() => sql.stmt('SELECT * FROM user WHERE id = ?').get(userId) as UserRow | undefined);
  return row && toAccount(row, currentId);
}

export function userExists(sql: Sql, userId: number): boolean {
  return Boolean(sql.stmt('SELECT 1 FROM user WHERE id = ?').get(userId));
}

/** Users whose sub, username or email equals `selector`, across issuers. */
export function usersMatching(sql: Sql, selector: string, currentId: number | undefined): AccountRecord[] {
  const rows = sql.guard(
    () => sql.stmt('SELECT * FROM user WHERE sub = @s OR username = @s OR email = @s ORDER BY id').all({ s: selector }) as UserRow[],
  );
  return rows.map((row) => toAccount(row, currentId));
}

/** Inside the caller's transaction: ids of the users that hold no token (logged out, profile kept). */
export function usersWithoutTokens(sql: Sql): number[] {
  return sql
    .stmt(
      `SELECT id FROM user WHERE NOT EXISTS (SELECT 1 FROM refresh_token WHERE user_id = user.id)
         AND NOT EXISTS (SELECT 1 FROM access_token WHERE user_id = user.id) ORDER BY id`,
    )
    .pluck()
    .all() as number[];
}

/** Inside the caller's transaction; the tokens go by cascade. */
export function deleteUser(sql: Sql, userId: number): boolean {
  return sql.stmt('DELETE FROM user WHERE id = ?').run(userId).changes > 0;
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
